"""The distributed shape's workers (DESIGN §1, §6): a Celery app on Redis, the task that drives
activations, and the dispatcher that sends ready activations to the workers.

Only this package knows Celery; the engine talks to the ``Dispatcher`` it is handed.
"""
