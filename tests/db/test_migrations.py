"""The migrations and the models say the same thing: a database built by the migrations has
every table, column and index the models declare, and nothing else (so a model change without
its migration, or the other way round, fails here rather than in a user's upgrade)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from datacollect.config import Settings
from datacollect.db.migrate import upgrade
from datacollect.db.models import Base


def test_a_migrated_database_matches_the_models(settings: Settings) -> None:
    upgrade(settings.db_url)
    engine = create_engine(settings.db_url)
    try:
        with engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"compare_type": False})
            differences = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    # alembic's own bookkeeping table is not a model
    differences = [d for d in differences if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    # alembic cannot read an index on an expression (priority DESC) back from SQLite: the same
    # index reported as removed and added again is no difference
    renamed = [d[1].name for d in differences if d[0] == "remove_index"]
    expression = {d[1].name for d in differences if d[0] == "add_index" and d[1].name in renamed
                  and any(not hasattr(e, "name") for e in d[1].expressions)}
    differences = [d for d in differences if not (d[0] in ("add_index", "remove_index") and d[1].name in expression)]
    assert differences == [], "\n".join(map(str, differences))
