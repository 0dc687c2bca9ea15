"""A run's answer holds at most a thousand items per node input and output port, says how many
there are, and the rest are paged: a node that put out a hundred thousand rows does not make the
run page fetch them all."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.engine.helpers import node, save, wf


async def big_run(api: Api, n: int) -> dict[str, Any]:
    save(api.platform, wf("many", [node("start", "ManualTrigger"),
                                   node("calc", "Calculator", formula="item.n * 2", output_field="twice")],
                          [("start", "calc")]))
    r = await api.post("/api/workflows/many/run", json={"data": [{"n": i} for i in range(n)], "wait": True})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_run_holds_the_first_thousand_items_of_each_list_and_says_how_many_there_are(api: Api) -> None:
    run = await big_run(api, 2500)
    answer = (await api.get(f"/api/runs/{run['id']}", role="viewer")).json()
    calc = next(a for a in answer["activations"] if a["node_id"] == "calc")
    assert len(calc["input"]) == 1000 and calc["input_total"] == 2500
    assert len(calc["output"]["main"]) == 1000 and calc["output_totals"] == {"main": 2500}
    assert calc["item_count"] == 2500
    fewer = (await api.get(f"/api/runs/{run['id']}?items=10")).json()
    assert len(next(a for a in fewer["activations"] if a["node_id"] == "calc")["output"]["main"]) == 10
    # the rest, a page at a time
    base = f"/api/runs/{run['id']}/activations/{calc['id']}/items"
    page = (await api.get(f"{base}?offset=2400&limit=1000", role="viewer")).json()
    assert page["count"] == 2500 and [i["twice"] for i in page["data"]] == [2 * n for n in range(2400, 2500)]
    page = (await api.get(f"{base}?side=input&offset=0&limit=3")).json()
    assert page["data"] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_a_small_run_is_whole_and_bad_page_requests_say_what_to_fix(api: Api) -> None:
    run = await big_run(api, 3)
    calc = next(a for a in (await api.get(f"/api/runs/{run['id']}")).json()["activations"] if a["node_id"] == "calc")
    assert len(calc["output"]["main"]) == 3 and calc["output_totals"] is None and calc["input_total"] is None
    base = f"/api/runs/{run['id']}/activations/{calc['id']}/items"
    r = await api.get(f"{base}?port=rejected")
    assert r.status_code == 404 and "port 'rejected'" in r.json()["error"]["message"]
    assert (await api.get(f"/api/runs/{run['id']}/activations/nope/items")).status_code == 404
    assert (await api.get(f"{base}?limit=0")).status_code == 422
    assert (await api.get(f"{base}?side=sideways")).status_code == 422
    assert (await api.client.get(base)).status_code == 401
