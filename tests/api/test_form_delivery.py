"""Other ways a form reaches people and files are kept: SMS through the provider adapter,
last period's answers as the prefill, and uploads into an S3-compatible store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datacollect.integrations.blobs import S3BlobStore
from tests.api.conftest import Api
from tests.api.test_public_forms import PDF, campaign
from tests.conftest import free_port, make_settings
from tests.forms.helpers import LINK, SmtpServer, example_form, good_answers, smtp_fixture  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path, db_url: str | None, smtp: SmtpServer, s3_endpoint: str) -> Any:
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                 region_name="us-east-1").create_bucket(Bucket=f"uploads-{tmp_path.name[-12:].lower().replace('_', '-')}")
    return make_settings(tmp_path, db_url, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                         public_url="http://forms.test", s3_endpoint_url=s3_endpoint, s3_access_key_id="k",
                         s3_secret_access_key="s", s3_region="us-east-1",
                         blob_url=f"s3://uploads-{tmp_path.name[-12:].lower().replace('_', '-')}/forms")


async def test_uploads_stream_into_the_s3_store(api: Api, smtp: SmtpServer) -> None:
    blobs = api.platform.services.blobs
    assert isinstance(blobs, S3BlobStore)
    _, tokens = await campaign(api, smtp, ["anna@acme.example"])
    base = f"/api/public/forms/{tokens['anna@acme.example']}"
    r = await api.client.post(f"{base}/files?field=certificate&name=proof.pdf", content=PDF,
                              headers={"Content-Type": "application/pdf"})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    listed = blobs.client.list_objects_v2(Bucket=blobs.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"forms/{key}"]
    assert b"".join([c async for c in blobs.open(key)]) == PDF
    r = await api.client.post(f"{base}/files?field=certificate&name=big.pdf", content=PDF * 6000,
                              headers={"Content-Type": "application/pdf"})
    assert r.status_code == 413
    assert len(blobs.client.list_objects_v2(Bucket=blobs.bucket)["Contents"]) == 1


async def test_sms_delivery_goes_through_the_provider_adapter(api: Api, smtp: SmtpServer) -> None:
    await api.post("/api/forms", json=example_form())
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={
        "delivery": "sms", "recipients": [{"phone": "+49 170 1234567", "name": "Site 4"}]})
    assert r.status_code == 201, r.text
    sms = api.platform.services.forms.sms
    for _ in range(100):
        if sms.sent:
            break
        import asyncio

        await asyncio.sleep(0.05)
    [message] = list(sms.sent)
    assert message["to"] == "+49 170 1234567" and "Supplier emissions questionnaire" in message["text"]
    token = LINK.search(message["text"]).group(1)
    assert (await api.client.get(f"/api/public/forms/{token}")).status_code == 200
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={"delivery": "sms", "recipients": ["a@x.example"]})
    assert r.status_code == 400 and "phone" in r.json()["error"]["message"]
    assert smtp.received == []


async def test_last_periods_answers_are_the_prefill(api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["anna@acme.example"])
    r = await api.client.post(f"/api/public/forms/{tokens['anna@acme.example']}/submit",
                              json={"answers": good_answers(company_name="Acme Q1")})
    assert r.status_code == 200
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={
        "recipients": ["anna@acme.example", "new@other.example"], "prefill_last_response": True})
    mails = await smtp.wait_for(3)
    again = [m for m in mails if m.rcpt == ["anna@acme.example"]][-1]
    view = (await api.client.get(f"/api/public/forms/{again.token}")).json()
    assert view["answers_from"] == "prefill" and view["answers"]["company_name"] == "Acme Q1"
    assert view["answers"]["scope_1"] == 1200.5
    fresh = [m for m in mails if m.rcpt == ["new@other.example"]][0]
    assert (await api.client.get(f"/api/public/forms/{fresh.token}")).json()["answers"] == {}
