"""Large run data lives in the blob store (DESIGN §13): a node's input, output or state above
the size set is written to a blob and its row keeps a reference; every reader gets the values
back; retention and erasure take the blobs with the rows; a transaction that fails leaves
nothing behind and never changes what a row points to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Text, cast, select

from datacollect.config import Settings
from datacollect.db.models import Activation
from datacollect.db.retention import Policy, sweep
from datacollect.security import privacy
from tests.api.conftest import Api
from tests.conftest import make_settings
from tests.engine.helpers import node, save, wf

BIG = "emission factors " * 400  # about 6.8 kB of JSON: above the 4 kB set below
EMAIL = "jana.novak@acme.example"


@pytest.fixture
def settings(tmp_path: Path, db_url: str | None) -> Settings:
    return make_settings(tmp_path, db_url, run_data_blob_bytes=4096)


def flow(wid: str) -> dict[str, Any]:
    return wf(wid, [node("start", "ManualTrigger"),
                    node("calc", "Calculator", formula="item.x + 1", output_field="y")], [("start", "calc")])


async def run(api: Api, wid: str, data: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    r = await api.post(f"/api/workflows/{wid}/run", json={"data": data, "wait": True})
    assert r.status_code == 200, r.text
    answer = (await api.get(f"/api/runs/{r.json()['id']}")).json()
    assert answer["status"] == "completed", answer
    return dict(answer)


def stored(api: Api, run_id: str) -> dict[tuple[str, str], str | None]:
    """What the rows hold, as text: ``(node, column) -> text``."""
    a = Activation.__table__
    with api.platform.db.engine.connect() as c:
        rows = c.execute(select(a.c.node_id, *(cast(a.c[k], Text) for k in ("input", "output", "state")))
                         .where(a.c.run_id == run_id)).all()
    return {(r[0], k): v for r in rows for k, v in zip(("input", "output", "state"), r[1:], strict=True)}


def blobs(api: Api) -> list[Path]:
    root = api.platform.settings.data_dir / "blobs" / "run-data"
    return sorted(p for p in root.rglob("*.json")) if root.exists() else []


async def test_a_large_output_is_kept_in_the_blob_store_and_read_back_whole(api: Api) -> None:
    save(api.platform, flow("big"))
    done = await run(api, "big", {"x": 1, "notes": BIG})
    rows = stored(api, done["id"])
    for where in (("start", "output"), ("calc", "input"), ("calc", "output")):
        assert '"$blob"' in (rows[where] or "") and "emission factors" not in (rows[where] or ""), where
    assert len(blobs(api)) == 3
    calc = next(a for a in done["activations"] if a["node_id"] == "calc")
    [item] = calc["output"]["main"] if isinstance(calc["output"], dict) else calc["output"]
    assert item == {"x": 1, "notes": BIG, "y": 2}
    # a small run stays in its rows
    small = await run(api, "big", {"x": 5})
    assert all(v is None or '"$blob"' not in v for v in stored(api, small["id"]).values())
    assert len(blobs(api)) == 3


async def test_retention_takes_the_blobs_with_the_node_data_and_with_the_run(api: Api) -> None:
    save(api.platform, flow("kept"))
    await run(api, "kept", {"x": 1, "notes": BIG})
    assert len(blobs(api)) == 3
    later = datetime.now(UTC) + timedelta(days=31)
    assert sweep(api.platform.db, Policy(run_data_days=30), at=later)["pruned"] == 1
    assert blobs(api) == []
    await run(api, "kept", {"x": 2, "notes": BIG})
    assert len(blobs(api)) == 3
    assert sweep(api.platform.db, Policy(keep_days=1), at=datetime.now(UTC) + timedelta(days=2))["deleted"] == 2
    assert blobs(api) == []


async def test_erasure_finds_a_person_inside_a_blob_and_leaves_no_copy_of_them(api: Api) -> None:
    save(api.platform, flow("people"))
    done = await run(api, "people", [{"x": 1, "notes": BIG, "contact": EMAIL}, {"x": 2, "notes": BIG}])
    before = blobs(api)
    with api.platform.db.write() as s:
        report = privacy.export_respondent(s, EMAIL, "test")
    assert {(e["node_id"]) for e in report["run_data"]} == {"start", "calc"}
    with api.platform.db.write() as s:
        erased = privacy.erase_respondent(s, EMAIL, "test", "GDPR request #4713")
    await privacy.delete_blobs(api.platform.services.blobs, erased.blob_keys)
    assert all(not p.exists() for p in before)  # the blobs that held them are gone
    assert blobs(api) and not any(EMAIL in p.read_text() for p in blobs(api))  # the other supplier's item stays
    assert not any(EMAIL in (v or "") for v in stored(api, done["id"]).values())
    calc = next(a for a in (await api.get(f"/api/runs/{done['id']}")).json()["activations"] if a["node_id"] == "calc")
    assert EMAIL not in str(calc["output"]) and [i["x"] for i in calc["output"]["main"]] == [2]


async def test_a_failed_transaction_deletes_what_it_wrote_and_a_committed_one_what_it_replaced(api: Api) -> None:
    save(api.platform, flow("swap"))
    done = await run(api, "swap", {"x": 1, "notes": BIG})
    act = next(a for a in done["activations"] if a["node_id"] == "calc")
    first = blobs(api)
    with pytest.raises(RuntimeError), api.platform.store.transaction() as tx:
        tx.update_activation(act["id"], {"output": {"main": [{"notes": BIG + " (second)"}]}})
        raise RuntimeError("the segment failed after its writes")
    assert blobs(api) == first  # nothing written is left, and the row still reads the first value
    with api.platform.store.transaction() as tx:
        assert tx.get_activation(act["id"])["output"]["main"][0]["y"] == 2
        tx.update_activation(act["id"], {"output": {"main": [{"notes": BIG + " (third)"}]}})
    now = blobs(api)
    assert len(now) == 3 and len(set(now) - set(first)) == 1  # the old output's blob was replaced
    with api.platform.store.transaction() as tx:
        assert tx.get_activation(act["id"])["output"]["main"][0]["notes"].endswith("(third)")
