"""The public form API behind /f/{token}: drafts, uploads, submission, delegation, and every
way a respondent or a forger can get it wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from datacollect.db.forms_models import FormRequest, FormResponse, FormUpload, ResponseChange
from tests.api.conftest import Api
from tests.forms.helpers import SmtpServer, example_form, good_answers, settings_fixture, smtp_fixture  # noqa: F401 (fixtures)

PDF = b"%PDF-1.4\n" + b"x" * 2000


async def campaign(api: Api, smtp: SmtpServer, emails: list[str], **body: Any) -> tuple[str, dict[str, str]]:
    await api.post("/api/forms", json=example_form())
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={"recipients": emails, **body})
    assert r.status_code == 201, r.text
    mails = await smtp.wait_for(len(emails))
    await api.platform.services.forms.wait_idle()
    return r.json()["id"], {m.rcpt[0]: m.token for m in mails}


def count(api: Api, model: Any) -> int:
    with api.platform.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


async def test_a_respondent_drafts_uploads_and_submits(api: Api, smtp: SmtpServer) -> None:
    cid, tokens = await campaign(api, smtp, ["anna@acme.example"])
    token = tokens["anna@acme.example"]
    base = f"/api/public/forms/{token}"
    view = (await api.client.get(base)).json()
    assert view["form"]["key"] == "supplier_emissions_v2" and view["form"]["schema"]["pages"]
    assert view["link"]["state"] == "opened" and view["answers_from"] == "empty"
    assert view["upload_limits"]["certificate"] == {"max_bytes": 10 * 1024 * 1024, "max_mb": 10,
                                                    "accept": [".pdf", "application/pdf"], "multiple": False,
                                                    "max_files": None}
    # a draft keeps what is there, even what would not pass yet
    r = await api.client.put(f"{base}/draft", json={"answers": {"company_name": "Acme", "scope_1": "lots"}})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "draft_saved"
    assert [p["field"] for p in r.json()["problems"]] == ["scope_1"]
    view = (await api.client.get(base)).json()
    assert view["answers"] == {"company_name": "Acme", "scope_1": "lots"} and view["answers_from"] == "draft"
    # a file, streamed into the blob store
    r = await api.client.post(f"{base}/files?field=certificate&name=verification.pdf", content=PDF,
                              headers={"Content-Type": "application/pdf"})
    assert r.status_code == 201, r.text
    ref = r.json()
    assert ref["size"] == len(PDF) and ref["name"] == "verification.pdf"
    chunks = [c async for c in api.platform.services.blobs.open(ref["key"])]
    assert b"".join(chunks) == PDF
    r = await api.client.post(f"{base}/submit", json={"answers": good_answers(certificate=ref)},
                              headers={"User-Agent": "Firefox/140"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "submitted" and "Thank you" in out["message"]
    resp = (await api.get(f"/api/responses/{out['response_id']}")).json()
    assert resp["answers"]["scope_1"] == 1200.5 and resp["answers"]["certificate"]["key"] == ref["key"]
    assert resp["form_version"] == "2" and resp["campaign_id"] == cid
    assert resp["recipient"]["email"] == "anna@acme.example"
    assert resp["meta"]["user_agent"] == "Firefox/140" and resp["meta"]["request_id"]
    assert [c["action"] for c in resp["changes"]] == ["submitted"]
    c = (await api.get(f"/api/campaigns/{cid}")).json()
    assert c["counts"]["submitted"] == 1 and c["outstanding"] == []
    # the link is used now: reading says so, a replayed submission is refused
    r = await api.client.get(base)
    assert r.status_code == 410 and r.json()["error"]["code"] == "link_used"
    assert "already submitted" in r.json()["error"]["message"]
    r = await api.client.post(f"{base}/submit", json={"answers": good_answers()})
    assert r.status_code == 409 and r.json()["error"]["code"] == "link_used"
    assert count(api, FormResponse) == 1


async def test_a_bad_submission_lists_every_bad_field_and_stores_nothing(api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["anna@acme.example"])
    base = f"/api/public/forms/{tokens['anna@acme.example']}"
    answers = good_answers(scope_1="a lot", employees=12.5, country="XX")
    del answers["signatory"]
    r = await api.client.post(f"{base}/submit", json={"answers": answers})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_answers"
    assert {e["field"] for e in err["details"]} >= {"scope_1", "employees", "country", "signatory"}
    assert all(e["message"] for e in err["details"])
    assert count(api, FormResponse) == 0
    # a file reference that was never uploaded through this link is refused too
    forged = {"key": "forms/other/evil.pdf", "name": "x.pdf", "size": 10, "content_type": "application/pdf"}
    r = await api.client.post(f"{base}/submit", json={"answers": good_answers(certificate=forged)})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "certificate"
    assert count(api, FormResponse) == 0
    # still open: the respondent fixes it and submits
    r = await api.client.post(f"{base}/submit", json={"answers": good_answers()})
    assert r.status_code == 200


async def test_forged_and_unknown_tokens_are_not_found(api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["anna@acme.example"])
    real = tokens["anna@acme.example"]
    for token in ("x" * 43, real[:-1] + ("A" if real[-1] != "A" else "B"), "short"):
        r = await api.client.get(f"/api/public/forms/{token}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "link_not_found"
        r = await api.client.post(f"/api/public/forms/{token}/submit", json={"answers": good_answers()})
        assert r.status_code == 404
    assert count(api, FormResponse) == 0


def move_deadline(api: Api, cid: str, to: datetime) -> None:
    """Time passes: the campaign's deadline (and so its links' expiry) is now ``to``."""
    from datacollect.db.forms_models import Campaign

    with api.platform.db.write() as s:
        c = s.get(Campaign, cid)
        c.deadline = c.next_check_at = to
        for r in s.scalars(select(FormRequest).where(FormRequest.campaign_id == cid)):
            r.expires_at = to
            if r.next_action_at is not None:
                r.next_action_at = min(r.next_action_at, to)


async def test_after_the_deadline_the_link_is_gone(api: Api, smtp: SmtpServer) -> None:
    deadline = datetime.now(UTC) + timedelta(days=14)
    cid, tokens = await campaign(api, smtp, ["anna@acme.example"], deadline=deadline.isoformat())
    base = f"/api/public/forms/{tokens['anna@acme.example']}"
    assert (await api.client.get(base)).status_code == 200
    move_deadline(api, cid, datetime.now(UTC) - timedelta(seconds=1))
    r = await api.client.post(f"{base}/submit", json={"answers": good_answers()})
    assert r.status_code == 410 and r.json()["error"]["code"] == "link_expired"
    assert "expired" in r.json()["error"]["message"]
    assert (await api.client.get(base)).status_code == 410
    assert count(api, FormResponse) == 0
    import asyncio

    for _ in range(100):  # the scheduler's tick marks it overdue
        c = (await api.get(f"/api/campaigns/{cid}")).json()
        if c["counts"]["overdue"] == 1:
            break
        await asyncio.sleep(0.05)
    assert c["counts"]["overdue"] == 1


async def test_uploads_over_the_limit_or_of_a_forbidden_type_are_refused(api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["anna@acme.example"])
    base = f"/api/public/forms/{tokens['anna@acme.example']}/files"
    big = b"%PDF" + b"0" * (10 * 1024 * 1024 + 10)
    r = await api.client.post(f"{base}?field=certificate&name=big.pdf", content=big,
                              headers={"Content-Type": "application/pdf"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "file_too_large" and "10 MB" in r.json()["error"]["message"]

    async def chunked():  # no Content-Length: refused while streaming
        for _ in range(12):
            yield b"0" * (1024 * 1024)

    r = await api.client.post(f"{base}?field=certificate&name=big.pdf", content=chunked(),
                              headers={"Content-Type": "application/pdf"})
    assert r.status_code == 413
    r = await api.client.post(f"{base}?field=certificate&name=run.exe", content=b"MZ...",
                              headers={"Content-Type": "application/x-msdownload"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "file_type_refused"
    assert ".pdf" in r.json()["error"]["message"]
    r = await api.client.post(f"{base}?field=scope_1&name=a.pdf", content=b"%PDF",
                              headers={"Content-Type": "application/pdf"})
    assert r.status_code == 400
    assert count(api, FormUpload) == 0
    blobs = api.platform.settings.data_dir / "blobs"
    assert not [p for p in blobs.rglob("*") if p.is_file()]  # nothing half-written left behind
    # multipart works as well
    r = await api.client.post(f"{base}?field=certificate", files={"file": ("ok.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "ok.pdf" and r.json()["size"] == len(PDF)


async def test_a_50_mb_json_body_is_refused_and_nothing_is_stored(api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["anna@acme.example"])
    base = f"/api/public/forms/{tokens['anna@acme.example']}"
    body = b'{"answers": {"notes": "' + b"x" * (50 * 1024 * 1024) + b'"}}'
    r = await api.client.post(f"{base}/submit", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = await api.client.put(f"{base}/draft", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert count(api, FormResponse) == 0
    r = await api.client.post(f"{base}/submit", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


async def test_delegation_sends_a_colleague_a_link_of_their_own(api: Api, smtp: SmtpServer) -> None:
    cid, tokens = await campaign(api, smtp, ["anna@acme.example"])
    old = f"/api/public/forms/{tokens['anna@acme.example']}"
    await api.client.put(f"{old}/draft", json={"answers": {"company_name": "Acme"}})
    r = await api.client.post(f"{old}/delegate", json={"email": "carl@acme.example", "name": "Carl"})
    assert r.status_code == 200, r.text
    assert r.json()["delegated_to"] == "carl@acme.example"
    [mail] = await smtp.wait_for(1, address="carl@acme.example")
    assert "anna@acme.example passed this questionnaire on to you" in mail.text
    r = await api.client.get(old)
    assert r.status_code == 410 and r.json()["error"]["code"] == "link_delegated"
    new = f"/api/public/forms/{mail.token}"
    view = (await api.client.get(new)).json()
    assert view["answers"] == {"company_name": "Acme"} and view["recipient"]["name"] == "Carl"
    r = await api.client.post(f"{new}/submit", json={"answers": good_answers()})
    assert r.status_code == 200
    resp = (await api.get(f"/api/responses/{r.json()['response_id']}")).json()
    assert resp["recipient"]["email"] == "carl@acme.example"
    assert resp["meta"]["delegation"] == ["anna@acme.example"]
    c = (await api.get(f"/api/campaigns/{cid}")).json()
    assert c["counts"]["delegated"] == 1 and c["counts"]["submitted"] == 1 and c["answered"] == 1


async def test_a_refused_address_marks_the_request_bounced(api: Api, smtp: SmtpServer) -> None:
    cid, _ = await campaign(api, smtp, ["anna@acme.example"])
    r = await api.post("/api/forms/supplier_emissions_v2/send",
                       json={"recipients": ["bounce-me@nowhere.example", "bob@bolt.example"]})
    await smtp.wait_for(1, address="bob@bolt.example")
    await api.platform.services.forms.wait_idle()
    c = (await api.get(f"/api/campaigns/{r.json()['id']}")).json()
    assert c["counts"]["bounced"] == 1 and c["counts"]["sent"] == 1
    bounced = [o for o in c["outstanding"] if o["state"] == "bounced"][0]
    assert "550" in bounced["delivery_error"]


async def test_reminders_follow_the_schedule_and_the_owner_hears_at_the_deadline(api: Api, smtp: SmtpServer
                                                                                 ) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=8)
    cid, tokens = await campaign(api, smtp, ["anna@acme.example", "bob@bolt.example"],
                                 reminder_schedule=["1s", "3s"], deadline=deadline.isoformat(),
                                 escalation_owner="owner@buyer.example")
    sent = smtp.to("anna@acme.example")[0].at
    # bob answers at once: no reminders for him
    r = await api.client.post(f"/api/public/forms/{tokens['bob@bolt.example']}/submit",
                              json={"answers": good_answers()})
    assert r.status_code == 200
    anna = await smtp.wait_for(3, address="anna@acme.example", timeout=10)
    assert [m.subject.startswith("Reminder") for m in anna] == [False, True, True]
    gaps = [m.at - sent for m in anna[1:]]
    # never early, in order, the second before the deadline (a busy machine may make one late)
    assert 0.9 <= gaps[0] < gaps[1] and 2.9 <= gaps[1] < 7.9, gaps
    assert anna[1].token != anna[0].token  # each mail has a fresh link to the same request
    assert (await api.client.get(f"/api/public/forms/{anna[0].token}")).status_code == 200
    [owner] = await smtp.wait_for(1, address="owner@buyer.example", timeout=10)
    assert "1 recipients have not answered" in owner.subject
    assert "anna@acme.example" in owner.text and "bob@bolt.example" not in owner.text
    assert len(smtp.to("bob@bolt.example")) == 1
    c = (await api.get(f"/api/campaigns/{cid}")).json()
    assert c["counts"]["overdue"] == 1 and c["escalated_at"] is not None
    with api.platform.db.session() as s:
        req = s.scalars(select(FormRequest).where(FormRequest.email == "anna@acme.example")).one()
        assert req.reminders_sent == 2


async def test_changes_requested_reopens_the_link_with_comments(api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["anna@acme.example"])
    base = f"/api/public/forms/{tokens['anna@acme.example']}"
    rid = (await api.client.post(f"{base}/submit", json={"answers": good_answers()})).json()["response_id"]
    r = await api.put(f"/api/responses/{rid}", role="reviewer", json={
        "status": "changes_requested", "comments": {"scope_1": "This is ten times last year's figure"},
        "reason": "outlier"})
    assert r.status_code == 200, r.text
    mail = (await smtp.wait_for(2, address="anna@acme.example"))[1]  # the invitation, then this
    assert mail.subject.startswith("Please review your answers")
    assert "scope_1: This is ten times last year's figure" in mail.text
    assert mail.token != tokens["anna@acme.example"]
    assert (await api.client.get(f"/api/public/forms/{mail.token}")).status_code == 200
    view = (await api.client.get(base)).json()
    assert view["link"]["state"] == "changes_requested"
    assert view["comments"] == {"scope_1": "This is ten times last year's figure"}
    assert view["answers"]["scope_1"] == 1200.5 and view["answers_from"] == "response"
    r = await api.client.post(f"{base}/submit", json={"answers": good_answers(scope_1=120.5, total_emissions=920.5)})
    assert r.status_code == 200 and r.json()["response_id"] == rid
    resp = (await api.get(f"/api/responses/{rid}")).json()
    assert resp["answers"]["scope_1"] == 120.5 and resp["revision"] == 2 and resp["status"] == "submitted"
    assert [c["action"] for c in resp["changes"]] == ["submitted", "status", "resubmitted"]
    assert resp["changes"][2]["before"]["scope_1"] == 1200.5
    assert count(api, FormResponse) == 1 and count(api, ResponseChange) == 3
