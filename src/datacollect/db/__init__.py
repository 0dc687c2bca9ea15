"""Persistence: SQLAlchemy 2 models, the session factory, migrations, and the engine's Store."""
