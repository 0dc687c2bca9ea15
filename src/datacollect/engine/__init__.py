"""The workflow engine: definitions, expressions, the runner, dispatchers and the scheduler.

The engine is pure: it imports no web framework, no ORM and no task queue. It talks to the
outside through the small protocols in :mod:`datacollect.engine.ports`.
"""
