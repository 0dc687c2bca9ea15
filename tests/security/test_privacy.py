"""Retention: responses older than their form's policy (or the global one) are erased by the
scheduler's sweep, with their run data and review values; newer ones and forms without a
policy are kept; the sweep is audit-logged. And the rules that decide what an erasure removes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from datacollect.db.forms_models import FormResponse
from datacollect.db.models import AuditEntry
from datacollect.forms import catalog, responses
from datacollect.security import privacy
from datacollect.security.privacy import TOMBSTONE, RetentionSweeper, scrub
from tests.api.conftest import Api
from tests.forms.helpers import example_form, good_answers


def respond(api: Api, form: dict[str, Any], days_ago: float, company: str) -> str:
    with api.platform.db.write() as s:
        row, _ = catalog.save_form(s, form, "test")
        resp = responses.create_response(
            s, form_key=row.key, form_name=row.name, form_version=row.version, actor="test", source="api",
            answers=good_answers(company_name=company), recipient={"email": f"{company.lower()}@x.example"},
            at=privacy.now() - timedelta(days=days_ago))
        return resp.id


def companies(api: Api) -> set[str]:
    with api.platform.db.session() as s:
        return {r.answers["company_name"] for r in s.scalars(select(FormResponse))}


async def test_the_sweep_erases_only_what_is_older_than_the_policy(api: Api) -> None:
    short = {**example_form(), "name": "short_lived", "settings": {**example_form().get("settings", {}),
                                                                   "retention_days": 7}}
    respond(api, example_form(), 400, "Old")
    respond(api, example_form(), 20, "Recent")
    respond(api, short, 10, "ShortOld")
    respond(api, short, 1, "ShortNew")

    # no global policy: only the form with its own policy is swept
    counts = await RetentionSweeper(api.platform.db, api.platform.services.blobs, None).sweep()
    assert counts["responses"] == 1
    assert companies(api) == {"Old", "Recent", "ShortNew"}

    # a global policy of a year: the old answer goes, the recent one stays
    counts = await RetentionSweeper(api.platform.db, api.platform.services.blobs, 365).sweep()
    assert counts["responses"] == 1 and companies(api) == {"Recent", "ShortNew"}
    assert await RetentionSweeper(api.platform.db, api.platform.services.blobs, 365).sweep() == {}
    with api.platform.db.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.erase")
                                 .order_by(AuditEntry.id)))
        assert [(e.actor, e.entity_id) for e in entries] == [("system:retention", "short_lived"),
                                                              ("system:retention", "supplier_emissions")]
        assert "365 days" in (entries[1].reason or "")
        assert s.scalar(select(func.count()).select_from(FormResponse)) == 2
    r = await api.get("/api/privacy/retention")
    assert r.json() == {"default_days": None, "forms": {"short_lived": 7.0}}


async def test_the_scheduler_runs_the_retention_sweep(api: Api) -> None:
    assert api.platform.scheduler is not None
    owners = [type(getattr(h, "__self__", None)).__name__ for h in api.platform.scheduler.hooks]
    assert "RetentionSweeper" in owners


def test_an_item_about_the_person_goes_whole_and_other_items_stay() -> None:
    terms = ["jana@acme.example", "resp-1"]
    output = {"main": [{"response_id": "resp-1", "company_name": "Acme"},
                       {"response_id": "resp-2", "company_name": "Globex"}]}
    assert scrub(output, terms) == {"main": [{"response_id": "resp-2", "company_name": "Globex"}]}
    assert scrub({"contact_email": "Jana@Acme.example", "company_name": "Acme"}, terms) == TOMBSTONE
    assert scrub({"note": "sent to jana@acme.example", "n": 1}, terms) == TOMBSTONE
    assert scrub({"recipients": {"to": "jana@acme.example"}, "n": 1}, terms) == {"recipients": TOMBSTONE, "n": 1}
    assert scrub({"n": 1}, terms) == {"n": 1}
