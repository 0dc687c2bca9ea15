"""The engine is pure: engine/ and nodes/ import no web framework, ORM or task queue; they
reach the outside world through the protocols in engine/ports.py and integrations/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src/datacollect"
FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "alembic", "celery", "uvicorn", "datacollect.api",
             "datacollect.db")
FILES = sorted([*(SRC / "engine").rglob("*.py"), *(SRC / "nodes").rglob("*.py")])


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import):
            names.update(a.name for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
            names.add(n.module)
    return names


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_engine_and_nodes_import_no_framework_orm_or_queue(path: Path) -> None:
    bad = sorted(m for m in imported(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert not bad, f"{path.relative_to(SRC)} imports {bad}; go through engine/ports.py or integrations/"


def test_routers_hold_no_sql() -> None:
    for path in (SRC / "api/routers").glob("*.py"):
        imports = {m.split(".")[0] for m in imported(path)}
        assert "sqlalchemy" not in imports or path.name == "misc.py" and "select" not in path.read_text(), \
            f"{path.name} builds SQL; put the query in a service"
