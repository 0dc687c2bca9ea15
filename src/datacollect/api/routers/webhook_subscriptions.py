"""Outgoing webhooks: subscriptions to platform events and their delivery log.

The signing secret is answered once, when the subscription is made (or its secret rotated);
after that it is never shown. See :mod:`datacollect.integrations.webhooks_out` for the events,
the body and how a receiver checks the signature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from datacollect.api.deps import PlatformDep, Principal, SessionDep, require
from datacollect.api.schemas import Page
from datacollect.errors import Conflict
from datacollect.integrations import webhooks_out as svc
from datacollect.integrations.hub import hub_of

router = APIRouter(prefix="/api/webhook-subscriptions", tags=["webhook-subscriptions"])


class SubscriptionCreate(BaseModel):
    name: str | None = Field(None, max_length=200)
    url: str = Field(min_length=8, description="Where events are POSTed (http:// or https://).")
    events: list[str] = Field(min_length=1, description=f"Any of {', '.join(svc.EVENTS)}, or * for all.")
    workflow_id: str | None = Field(None, description="Only events of this workflow (runs).")
    active: bool = True
    secret: str | None = Field(None, min_length=16, description="The signing secret; made for you when left out.")


class SubscriptionUpdate(BaseModel):
    name: str | None = Field(None, max_length=200)
    url: str | None = None
    events: list[str] | None = None
    workflow_id: str | None = None
    active: bool | None = None
    rotate_secret: bool = Field(False, description="Make a new signing secret (answered once).")


class SubscriptionRead(BaseModel):
    id: str
    name: str
    url: str
    events: list[str]
    workflow_id: str | None = None
    active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None


class SubscriptionCreated(SubscriptionRead):
    secret: str | None = Field(None, description="The signing secret; shown this once.")


class DeliveryRead(BaseModel):
    id: str
    subscription_id: str
    event: str
    event_key: str
    status: str = Field(description="pending, sending, delivered or failed.")
    attempts: int
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    log: list[dict[str, Any]] = Field(description="Every attempt: at, attempt, status, error, duration_ms.")
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None = None


def _hub(platform: Any) -> Any:
    hub = hub_of(platform.services)
    assert hub is not None
    return hub


@router.get("", response_model=Page[SubscriptionRead], operation_id="webhooksubscriptions-list",
            dependencies=[require("connections:write")])
def list_subscriptions(session: SessionDep) -> Page[SubscriptionRead]:
    rows = svc.list_subscriptions(session)
    return Page(data=[SubscriptionRead(**svc.subscription_view(s)) for s in rows], count=len(rows))


@router.post("", response_model=SubscriptionCreated, status_code=status.HTTP_201_CREATED,
             operation_id="webhooksubscriptions-create")
def create_subscription(platform: PlatformDep, body: SubscriptionCreate,
                        p: Principal = require("connections:write")) -> SubscriptionCreated:
    hub = _hub(platform)
    with platform.db.write() as session:
        sub, secret = svc.create_subscription(session, hub.box, body.model_dump(), p.actor)
        answer = SubscriptionCreated(**svc.subscription_view(sub), secret=secret)
    hub.webhooks.invalidate()
    return answer


@router.get("/{sub_id}", response_model=SubscriptionRead, operation_id="webhooksubscriptions-read",
            dependencies=[require("connections:write")])
def read_subscription(sub_id: str, session: SessionDep) -> SubscriptionRead:
    return SubscriptionRead(**svc.subscription_view(svc.get_subscription(session, sub_id)))


@router.patch("/{sub_id}", response_model=SubscriptionCreated, operation_id="webhooksubscriptions-update")
def update_subscription(sub_id: str, platform: PlatformDep, body: SubscriptionUpdate,
                        p: Principal = require("connections:write")) -> SubscriptionCreated:
    hub = _hub(platform)
    data = body.model_dump(exclude_unset=True)
    with platform.db.write() as session:
        sub, secret = svc.update_subscription(session, hub.box, sub_id, data, p.actor)
        answer = SubscriptionCreated(**svc.subscription_view(sub), secret=secret)
    hub.webhooks.invalidate()
    return answer


@router.delete("/{sub_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="webhooksubscriptions-delete")
def delete_subscription(sub_id: str, platform: PlatformDep, p: Principal = require("connections:write")) -> Response:
    with platform.db.write() as session:
        svc.delete_subscription(session, sub_id, p.actor)
    _hub(platform).webhooks.invalidate()
    return Response(status_code=204)


@router.get("/{sub_id}/deliveries", response_model=Page[DeliveryRead], operation_id="webhooksubscriptions-deliveries",
            dependencies=[require("connections:write")])
def list_deliveries(sub_id: str, session: SessionDep, status: str | None = None,
                    page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=500)) -> Page[DeliveryRead]:
    rows, total = svc.list_deliveries(session, sub_id, status, page_size, (page - 1) * page_size)
    return Page(data=[DeliveryRead(**svc.delivery_view(d)) for d in rows], count=total)


@router.post("/{sub_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead,
             operation_id="webhooksubscriptions-redeliver")
def redeliver(sub_id: str, delivery_id: str, platform: PlatformDep,
              p: Principal = require("connections:write")) -> DeliveryRead:
    with platform.db.write() as session:
        answer = DeliveryRead(**svc.delivery_view(svc.redeliver(session, sub_id, delivery_id, p.actor)))
    _hub(platform).webhooks.kick()
    return answer


@router.post("/{sub_id}/ping", response_model=DeliveryRead, status_code=status.HTTP_202_ACCEPTED,
             operation_id="webhooksubscriptions-ping")
def ping(sub_id: str, platform: PlatformDep, p: Principal = require("connections:write")) -> DeliveryRead:
    import uuid

    with platform.db.session() as session:
        svc.get_subscription(session, sub_id)
    hub = _hub(platform).webhooks
    hub.invalidate()
    if not hub.publish("ping", {"subscription_id": sub_id, "by": p.actor}, f"ping:{uuid.uuid4().hex}", only=sub_id):
        raise Conflict("The subscription is paused; activate it to send a ping")
    with platform.db.session() as session:
        rows, _ = svc.list_deliveries(session, sub_id, None, 1, 0)
        return DeliveryRead(**svc.delivery_view(rows[0]))
