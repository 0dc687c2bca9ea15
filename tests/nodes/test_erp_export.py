"""ERPExport against a fake SAP Gateway on loopback that speaks OData v2 (and v4): CSRF token,
$batch change sets, SAP-format errors. Exactly once under every fault: a lost answer, a 500 in
the middle of a batch, a malformed answer, an unreachable ERP, a wrong password, a retried run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from datacollect.db import catalog
from datacollect.integrations import connections as conn_svc
from datacollect.integrations.erp import reference_for
from tests.conftest import free_port
from tests.engine.helpers import TEST_NODES, node, run_row, save, wf
from tests.integrations import fake_netsuite as ns
from tests.integrations import fake_oracle as orc
from tests.integrations.fake_sap import ENTITY, PASSWORD, SERVICE, SERVICE_V4, USER, FakeSap
from tests.integrations.servers import ServedApp, serve

CARBON_TO_SAP_V2 = {"mapping_rules": [
    {"from": "supplier_id", "to": "SupplierId", "type": "string"},
    {"from": "co2_tonnes", "to": "Co2Tonnes", "type": "number"},
    {"to": "Period", "value": "{{ trigger.year }}-Q{{ trigger.quarter }}"},
]}
SUPPLIERS = [{"supplier_id": "S-100", "co2_tonnes": 12.5}, {"supplier_id": "S-200", "co2_tonnes": "7.25"},
             {"supplier_id": "S-300", "co2_tonnes": 3}]


@pytest.fixture
def db_url() -> None:
    return None  # SQLite; the connections API tests cover PostgreSQL


@pytest.fixture
async def platform(settings: Any) -> AsyncIterator[Any]:
    from datacollect.nodes.builtin import NODES
    from datacollect.nodes.registry import NodeRegistry
    from datacollect.platform import Platform

    p = Platform.create(settings, registry=NodeRegistry([*NODES, *TEST_NODES]))
    await p.start(scheduler=False)
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture
def sap() -> Iterator[tuple[FakeSap, ServedApp]]:
    fake = FakeSap()
    with serve(fake) as server:
        yield fake, server


def add_connection(platform: Any, url: str, id_: str = "sap-prod", **config: Any) -> None:
    hub = platform.services.extra["integrations"]
    values = {"base_url": url, "service_path": SERVICE, "username": USER, "password": PASSWORD,
              "entity_set": ENTITY, **config}
    with platform.db.write() as s:
        conn_svc.create_connection(s, hub.box, {"id": id_, "name": id_, "kind": "sap", "config": values}, "test")


def setup(platform: Any, url: str, *, export: dict[str, Any] | None = None, retry: dict[str, Any] | None = None,
          **connection: Any) -> None:
    add_connection(platform, url, **connection)
    with platform.db.write() as s:
        catalog.put_mapping(s, "carbon_to_sap_v2", CARBON_TO_SAP_V2, "", "test")
    cfg = {"system": "SAP", "mapping": "carbon_to_sap_v2", "retry_backoff": 0, "timeout": 5, **(export or {})}
    extra = {"retry": retry} if retry else {}
    save(platform, wf("export", [node("start", "ManualTrigger"), node("sap_export", "ERPExport", **cfg, **extra),
                                 node("refused", "TestCollect")],
                      [("start", "sap_export"), ("sap_export", "refused", "error")]))


async def start(platform: Any, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    items = [{**s, "year": 2025, "quarter": 1} for s in (items or SUPPLIERS)]
    run_id = await platform.runner.start_run("export", items)
    return run_row(platform, run_id)


def output(run: dict[str, Any], port: str = "main") -> list[dict[str, Any]]:
    return (run["acts"][("sap_export", "0")]["output"] or {}).get(port, [])


def one_document_per_item(fake: FakeSap, run: dict[str, Any], n: int) -> None:
    refs = [reference_for(f"{run['id']}/sap_export/0/{i}") for i in range(n)]
    assert [len(fake.docs(r)) for r in refs] == [1] * n
    assert len(fake.records) == n


async def test_items_become_sap_documents_with_their_reference_and_created_key(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url)
    run = await start(platform)
    assert run["status"] == "completed", run["error"]
    out = output(run)
    assert [o["_export"]["status"] for o in out] == ["created"] * 3
    assert [o["_export"]["key"] for o in out] == ["0000000001", "0000000002", "0000000003"]
    assert out[0]["_export"]["system"] == "SAP" and out[0]["_export"]["entity"] == ENTITY
    assert out[0]["supplier_id"] == "S-100"  # the item flows on, with what became of it
    doc = fake.records["0000000002"]
    assert doc == {"RecordId": "0000000002", "SupplierId": "S-200", "Co2Tonnes": 7.25, "Period": "2025-Q1",
                   "ExternalReference": reference_for(f"{run['id']}/sap_export/0/1")}
    assert fake.batches == 1  # three records, one $batch
    one_document_per_item(fake, run, 3)


async def test_a_refused_record_goes_out_of_the_error_port_with_sap_s_message_and_the_others_are_exported(
        platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url)
    run = await start(platform, [SUPPLIERS[0], {"supplier_id": "S-999", "co2_tonnes": -4}, SUPPLIERS[2]])
    assert run["status"] == "completed", run["error"]
    assert [o["supplier_id"] for o in output(run)] == ["S-100", "S-300"]
    [bad] = output(run, "error")
    assert bad["supplier_id"] == "S-999"
    err = bad["error"]
    assert err["message"] == "SAP refused the record: CO2 value -4 is not a positive number"
    assert err["code"] == "ZCARBON/002" and err["status"] == 400 and err["system"] == "SAP"
    assert err["details"][0]["field"] == "Co2Tonnes"
    assert run["acts"][("refused", "0")]["input"][0]["supplier_id"] == "S-999"
    assert len(fake.records) == 2


async def test_a_value_the_mapping_cannot_cast_is_an_item_error_and_nothing_is_sent_for_it(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url)
    run = await start(platform, [SUPPLIERS[0], {"supplier_id": "S-2", "co2_tonnes": "lots"}])
    [bad] = output(run, "error")
    assert bad["error"]["code"] == "mapping" and "Co2Tonnes" in bad["error"]["message"]
    assert len(fake.records) == 1


async def test_a_retried_run_never_creates_a_second_document(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url)
    run = await start(platform)
    again = await platform.runner.retry_run(run["id"], from_node="sap_export")
    assert again["status"] == "completed"
    run = run_row(platform, run["id"])
    assert [o["_export"]["status"] for o in output(run)] == ["created"] * 3  # as first reported
    assert [o["_export"]["key"] for o in output(run)] == ["0000000001", "0000000002", "0000000003"]
    assert fake.batches == 1
    one_document_per_item(fake, run, 3)


async def test_an_answer_lost_after_sap_committed_is_looked_up_not_sent_again(platform, sap) -> None:
    fake, server = sap
    fake.answer_delay = 3  # SAP commits, the answer comes after the node's timeout
    setup(platform, server.url, export={"timeout": 1})
    run = await start(platform)
    assert run["status"] == "completed", run["error"]
    assert [o["_export"]["status"] for o in output(run)] == ["already_exported"] * 3
    assert [o["_export"]["key"] for o in output(run)] == ["0000000001", "0000000002", "0000000003"]
    assert fake.batches == 1
    one_document_per_item(fake, run, 3)


async def test_a_500_in_the_middle_of_a_batch_exports_each_record_once(platform, sap) -> None:
    fake, server = sap
    fake.fail_batch_after = 2  # two change sets committed, then the whole batch answers 500
    setup(platform, server.url)
    items = [{"supplier_id": f"S-{n}", "co2_tonnes": n} for n in range(1, 6)]
    run = await start(platform, items)
    assert run["status"] == "completed", run["error"]
    statuses = [o["_export"]["status"] for o in output(run)]
    assert statuses == ["already_exported", "already_exported", "already_exported", "already_exported", "created"]
    one_document_per_item(fake, run, 5)


async def test_a_500_that_lasts_fails_the_step_retryable_and_a_later_retry_sends_only_the_rest(platform, sap) -> None:
    fake, server = sap
    fake.fail_batch_after = 1
    setup(platform, server.url, export={"max_retries": 1})
    items = [{"supplier_id": f"S-{n}", "co2_tonnes": n} for n in range(1, 6)]
    run = await start(platform, items)
    assert run["status"] == "failed"
    err = run["error"]
    assert err["type"] == "RetryableNodeError" and "SAP answered 500 to the $batch" in err["message"]
    assert "4 of 5 records could not be exported yet" in err["message"]  # one more committed, unknown yet
    assert len(fake.records) == 2
    fake.fail_batch_after = None
    await platform.runner.retry_run(run["id"])
    run = run_row(platform, run["id"])
    assert run["status"] == "completed", run["error"]
    one_document_per_item(fake, run, 5)


async def test_a_changeset_failing_with_500_is_resent_because_sap_rolled_it_back(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url, export={"max_retries": 0})
    run = await start(platform, [SUPPLIERS[0], {"supplier_id": "BOOM", "co2_tonnes": 1}])
    assert run["status"] == "failed"
    assert "Update of table ZCO2 failed" in run["error"]["message"]
    assert len(fake.records) == 1


@pytest.mark.parametrize("commits", [True, False])
async def test_a_malformed_answer_is_checked_before_anything_is_sent_again(platform, sap, commits: bool) -> None:
    fake, server = sap
    fake.malformed = b"<html><body>Proxy error</body></html>"
    if not commits:
        fake.fail_batch_after = 0  # the batch never reaches the backend...
        fake.malformed = None
        original = fake._error

        def html(status: int, *a: Any, **kw: Any) -> Any:  # ...and the proxy answers 202 with HTML
            from starlette.responses import Response

            return Response(b"<html>gateway</html>", 202, media_type="text/html") if status == 500 else \
                original(status, *a, **kw)
        fake._error = html  # type: ignore[method-assign]
    setup(platform, server.url, export={"max_retries": 2})
    run = await start(platform)
    if commits:
        assert run["status"] == "completed", run["error"]
        assert [o["_export"]["status"] for o in output(run)] == ["already_exported"] * 3
        one_document_per_item(fake, run, 3)
    else:
        assert run["status"] == "failed"
        assert run["error"]["type"] == "NodeError"
        assert "cannot be read" in run["error"]["message"] and "text/html" in run["error"]["message"]
        assert fake.records == {}
        fake._error = original  # type: ignore[method-assign]
        fake.fail_batch_after = None
        await platform.runner.retry_run(run["id"])
        run = run_row(platform, run["id"])
        assert run["status"] == "completed", run["error"]
        one_document_per_item(fake, run, 3)


async def test_an_unreachable_erp_fails_the_step_as_retryable_with_nothing_exported(platform) -> None:
    port = free_port()
    setup(platform, f"http://127.0.0.1:{port}")
    run = await start(platform)
    assert run["status"] == "failed"
    assert run["error"]["type"] == "RetryableNodeError"
    assert "Nothing answers at SAP" in run["error"]["message"] and run["error"]["details"]["stage"] == "connect"
    fake = FakeSap()
    with serve(fake, port=port):
        await platform.runner.retry_run(run["id"])
        run = run_row(platform, run["id"])
    assert run["status"] == "completed", run["error"]
    one_document_per_item(fake, run, 3)


async def test_a_wrong_password_fails_the_step_naming_the_credentials(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url, password="wrong-pass")
    run = await start(platform)
    assert run["status"] == "failed"
    assert run["error"]["type"] == "NodeError"
    assert "refused the credentials (401)" in run["error"]["message"]
    assert run["error"]["details"]["stage"] == "auth"
    assert "wrong-pass" not in str(run["error"])
    assert fake.records == {}


async def test_an_expired_csrf_token_is_fetched_again(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url)
    real_get = fake._get

    def stale(request: Any, rest: str, sid: Any) -> Any:  # tokens are forgotten right after being handed out
        response = real_get(request, rest, sid)
        if "x-csrf-token" in response.headers and not getattr(fake, "_renewed", False):
            fake.sessions.clear()
            fake._renewed = True  # type: ignore[attr-defined]
        return response
    fake._get = stale  # type: ignore[method-assign]
    run = await start(platform)
    assert run["status"] == "completed", run["error"]
    assert len(fake.records) == 3


async def test_update_and_upsert_change_the_document_that_holds_the_reference(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url, export={"operation": "upsert", "reference": "{{ item.supplier_id }}-2025Q1"})
    run = await start(platform, SUPPLIERS[:2])
    assert [o["_export"]["status"] for o in output(run)] == ["created", "created"]
    # a second run with new figures: the same business references, so the same documents
    run2 = await start(platform, [{"supplier_id": "S-100", "co2_tonnes": 13}, {"supplier_id": "S-200", "co2_tonnes": 8}])
    assert run2["status"] == "completed", run2["error"]
    assert [o["_export"]["status"] for o in output(run2)] == ["updated", "updated"]
    assert [o["_export"]["key"] for o in output(run2)] == ["0000000001", "0000000002"]
    assert len(fake.records) == 2 and fake.records["0000000001"]["Co2Tonnes"] == 13


async def test_a_business_reference_already_exported_is_not_created_twice(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url, export={"reference": "{{ item.supplier_id }}-2025Q1"})
    await start(platform, SUPPLIERS[:1])
    run = await start(platform, SUPPLIERS[:1])
    assert output(run)[0]["_export"]["status"] == "already_exported"
    assert len(fake.records) == 1


async def test_the_plan_s_example_names_no_connection_and_uses_the_only_sap_one(platform, sap) -> None:
    fake, server = sap
    setup(platform, server.url)
    run = await start(platform, SUPPLIERS[:1])
    assert run["status"] == "completed"
    add_connection(platform, server.url, id_="sap-test")
    run = await start(platform, SUPPLIERS[:1])
    assert run["status"] == "failed" and "several sap connections" in run["error"]["message"]


async def test_odata_v4_services_work_the_same(platform) -> None:
    fake = FakeSap(version=4)
    with serve(fake) as server:
        setup(platform, server.url, service_path=SERVICE_V4, odata_version="4")
        run = await start(platform, [SUPPLIERS[0], {"supplier_id": "", "co2_tonnes": 1}])
    assert run["status"] == "completed", run["error"]
    [ok] = output(run)
    assert ok["_export"]["key"] == "0000000001" and ok["_export"]["status"] == "created"
    [bad] = output(run, "error")
    assert bad["error"]["message"] == "SAP refused the record: Supplier is required"
    assert bad["error"]["details"][0]["field"] == "SupplierId"


# -- NetSuite (REST record API, token-based auth) ------------------------------------------------
def add_netsuite(platform: Any, url: str, **config: Any) -> None:
    hub = platform.services.extra["integrations"]
    values = {"account_id": ns.ACCOUNT, "base_url": url, "consumer_key": ns.CONSUMER_KEY,
              "consumer_secret": ns.CONSUMER_SECRET, "token_id": ns.TOKEN_ID, "token_secret": ns.TOKEN_SECRET,
              "record_type": ns.RECORD_TYPE, **config}
    with platform.db.write() as s:
        conn_svc.create_connection(s, hub.box, {"id": "netsuite", "name": "NetSuite", "kind": "netsuite",
                                                "config": values}, "test")


NS_RULES = [{"from": "supplier_id", "to": "custrecord_supplier"}, {"from": "co2_tonnes", "to": "custrecord_co2",
                                                                   "type": "number"}]


def export_workflow(platform: Any, system: str, **config: Any) -> None:
    save(platform, wf("export", [node("start", "ManualTrigger"),
                                 node("sap_export", "ERPExport", **{"system": system, "retry_backoff": 0,
                                                                    "timeout": 5, **config}),
                                 node("refused", "TestCollect")],
                      [("start", "sap_export"), ("sap_export", "refused", "error")]))


async def test_netsuite_records_are_upserted_by_external_id_with_a_signed_request(platform) -> None:
    fake = ns.FakeNetSuite()
    with serve(fake) as server:
        add_netsuite(platform, server.url)
        export_workflow(platform, "NetSuite", mapping_rules=NS_RULES)
        run = await start(platform, [SUPPLIERS[0], {"supplier_id": "", "co2_tonnes": 1}])
        assert run["status"] == "completed", run["error"]
        [ok] = output(run)
        ref = reference_for(f"{run['id']}/sap_export/0/0")
        assert ok["_export"]["reference"] == ref and ok["_export"]["status"] == "created"
        assert fake.by_external_id(ref) == {"id": ok["_export"]["key"], "externalId": ref,
                                            "custrecord_supplier": "S-100", "custrecord_co2": 12.5}
        [bad] = output(run, "error")
        assert bad["error"]["message"] == "NetSuite refused the record: Please enter value(s) for: Supplier"
        assert bad["error"]["code"] == "USER_ERROR" and bad["error"]["details"][0]["field"] == "custrecord_supplier"
        # retried: the same external id, so the same record
        await platform.runner.retry_run(run["id"], from_node="sap_export")
        assert len(fake.records[ns.RECORD_TYPE]) == 1


async def test_netsuite_write_lost_to_a_500_is_sent_again_onto_the_same_record(platform) -> None:
    fake = ns.FakeNetSuite()
    fake.commit_then_fail = 2  # NetSuite applied the first two writes, then answered 500
    with serve(fake) as server:
        add_netsuite(platform, server.url)
        export_workflow(platform, "NetSuite", mapping_rules=NS_RULES)
        run = await start(platform)
    assert run["status"] == "completed", run["error"]
    assert len(fake.records[ns.RECORD_TYPE]) == 3
    assert {r["externalId"] for r in fake.records[ns.RECORD_TYPE].values()} == {
        reference_for(f"{run['id']}/sap_export/0/{i}") for i in range(3)}


async def test_a_wrong_netsuite_token_secret_fails_on_the_signature(platform) -> None:
    fake = ns.FakeNetSuite()
    with serve(fake) as server:
        add_netsuite(platform, server.url, token_secret="not-the-secret")
        export_workflow(platform, "NetSuite", mapping_rules=NS_RULES)
        run = await start(platform)
    assert run["status"] == "failed"
    assert "refused the credentials (401)" in run["error"]["message"] and "Invalid login" in run["error"]["message"]
    assert fake.records == {}


# -- Oracle Fusion (REST) ------------------------------------------------------------------------
def add_oracle(platform: Any, url: str, **config: Any) -> None:
    hub = platform.services.extra["integrations"]
    values = {"base_url": url, "username": orc.USER, "password": orc.PASSWORD, "resource": orc.RESOURCE,
              "external_ref_field": "ExternalReference", **config}
    with platform.db.write() as s:
        conn_svc.create_connection(s, hub.box, {"id": "oracle", "name": "Oracle", "kind": "oracle",
                                                "config": values}, "test")


ORA_RULES = [{"from": "supplier_id", "to": "SupplierNumber"}, {"from": "co2_tonnes", "to": "Co2Tonnes",
                                                               "type": "number"}]


async def test_oracle_items_are_created_and_a_lost_answer_is_looked_up(platform) -> None:
    fake = orc.FakeOracle()
    with serve(fake) as server:
        add_oracle(platform, server.url)
        export_workflow(platform, "Oracle", mapping_rules=ORA_RULES, timeout=1)
        run = await start(platform, [SUPPLIERS[0], {"supplier_id": None, "co2_tonnes": 1}])
        assert run["status"] == "completed", run["error"]
        [ok] = output(run)
        assert ok["_export"]["key"] == "300000000000001" and ok["_export"]["status"] == "created"
        [bad] = output(run, "error")
        assert bad["error"]["message"] == "Oracle refused the record: The attribute SupplierNumber is required."
        assert bad["error"]["details"][0]["field"] == "SupplierNumber"
        fake.answer_delay = 2  # created, but the answer comes too late
        run = await start(platform, SUPPLIERS[1:])
        assert run["status"] == "completed", run["error"]
        assert [o["_export"]["status"] for o in output(run)] == ["already_exported"] * 2
    assert len(fake.items) == 3 and fake.posts == 4


async def test_oracle_without_a_reference_field_says_what_to_set(platform) -> None:
    fake = orc.FakeOracle()
    with serve(fake) as server:
        add_oracle(platform, server.url, external_ref_field=None)
        export_workflow(platform, "Oracle", mapping_rules=ORA_RULES)
        run = await start(platform, SUPPLIERS[:1])
    assert run["status"] == "failed" and "reference_field" in run["error"]["message"]
    assert fake.items == {}
