"""Campaigns: progress by state, and who has not answered yet."""

from __future__ import annotations

from fastapi import APIRouter, Query

from datacollect.api.deps import SessionDep, require
from datacollect.api.forms_schemas import CampaignRead
from datacollect.api.schemas import Page
from datacollect.forms import campaigns as svc

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


def campaign_read(session: SessionDep, campaign_id: str, outstanding: int = 1000) -> CampaignRead:
    c = svc.get_campaign(session, campaign_id)
    counts = svc.counts(session, c.id)
    left = [{"request_id": r.id, "recipient": {k: v for k, v in (r.recipient or {}).items() if not k.startswith("_")},
             "state": r.state, "sent_at": r.sent_at, "opened_at": r.opened_at, "reminders_sent": r.reminders_sent,
             "last_reminder_at": r.last_reminder_at, "delivery_error": r.delivery_error}
            for r in svc.outstanding(session, c.id, outstanding)] if outstanding else []
    return CampaignRead(id=c.id, form_key=c.form_key, name=c.name, status=c.status, delivery=c.delivery,
                        deadline=c.deadline, reminders=list(c.reminders or []), escalation_owner=c.escalation_owner,
                        escalated_at=c.escalated_at, total=c.total, created_at=c.created_at, created_by=c.created_by,
                        origin=c.origin, counts=counts,
                        answered=counts["submitted"] + counts["approved"] + counts["changes_requested"],
                        outstanding=left)


@router.get("", response_model=Page[CampaignRead], operation_id="campaigns-list",
            dependencies=[require("forms:read")])
def list_campaigns(session: SessionDep, form: str | None = None, page: int = Query(1, ge=1),
                   page_size: int = Query(50, ge=1, le=500)) -> Page[CampaignRead]:
    rows, total = svc.list_campaigns(session, form, page, page_size)
    return Page(data=[campaign_read(session, c.id, outstanding=0) for c in rows], count=total)


@router.get("/{campaign_id}", response_model=CampaignRead, operation_id="campaigns-read",
            dependencies=[require("forms:read")])
def read_campaign(campaign_id: str, session: SessionDep,
                  outstanding: int = Query(1000, ge=0, le=100000, description="How many outstanding "
                                                                             "recipients to list")) -> CampaignRead:
    """Counts by state (sent, opened, draft_saved, submitted...) and the recipients who have not answered."""
    return campaign_read(session, campaign_id, outstanding)
