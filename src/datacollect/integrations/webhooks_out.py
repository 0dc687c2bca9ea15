"""Outgoing webhooks: subscriptions to platform events, delivered with an HMAC signature,
retried with backoff, every attempt logged (DESIGN §9, §13).

Events
    ``run.completed``, ``run.failed``, ``run.cancelled`` (from the runner's ``on_run_settled``),
    ``response.submitted`` (each stored revision of a form response) and ``review.decided``
    (each final decision of a review item), both read from their tables, so one stored while
    no sender ran is not lost; and ``ping``. Other code may publish with :meth:`WebhookHub.publish`.

Delivery
    ``POST <url>`` with the JSON body ``{"id", "event", "occurred_at", "data"}`` and the headers
    ``X-Datacollect-Event``, ``X-Datacollect-Delivery`` (the same on every attempt: receivers
    drop repeats by it), ``X-Datacollect-Timestamp`` and ``X-Datacollect-Signature:
    sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the subscription's
    secret. A 2xx answer delivers it; anything else is retried after 5 s, 10 s, 20 s ... (at most
    1 h, with jitter) until ``DATACOLLECT_WEBHOOKS_MAX_ATTEMPTS``, then it is ``failed`` (and can
    be sent again from the API). Receivers check the signature like this::

        expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(f"sha256={expected}", signature_header)

The outbox is the ``webhook_deliveries`` table: an event is written there (one row per
subscription, unique by event key, so publishing twice delivers once), then sent by whichever
process runs the scheduler; a sender takes rows under a lease, so two senders never send the
same row at once. Delivered and failed rows are kept 30 days, then pruned.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datacollect.db.integrations_models import WebhookDelivery, WebhookSubscription
from datacollect.errors import InvalidInput, NotFound
from datacollect.integrations.crypto import SecretBox
from datacollect.security import audit

log = logging.getLogger("datacollect.webhooks")

RUN_ENDS = ("completed", "failed", "cancelled")
EVENTS = ("run.completed", "run.failed", "run.cancelled", "response.submitted", "review.decided", "ping")
LOG_KEEP = 20


def _now() -> datetime:
    return datetime.now(UTC)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------- services
def _check(data: dict[str, Any]) -> None:
    url = str(data.get("url") or "")
    if "url" in data and not url.lower().startswith(("http://", "https://")):
        raise InvalidInput("url must be an http:// or https:// address")
    if "events" in data:
        events = data.get("events") or []
        bad = [e for e in events if e not in EVENTS and e != "*"]
        if bad or not events:
            raise InvalidInput(f"Unknown event{'s' if len(bad) != 1 else ''}: {', '.join(bad) or 'none given'}. "
                               f"Events are {', '.join(EVENTS)} (or * for all)")


def subscription_view(sub: WebhookSubscription) -> dict[str, Any]:
    return {"id": sub.id, "name": sub.name, "url": sub.url, "events": list(sub.events or []),
            "workflow_id": sub.workflow_id, "active": sub.active, "created_at": sub.created_at,
            "updated_at": sub.updated_at, "created_by": sub.created_by}


def create_subscription(session: Session, box: SecretBox, data: dict[str, Any], actor: str
                        ) -> tuple[WebhookSubscription, str]:
    """Answers the subscription and its signing secret (shown once)."""
    _check({"url": data.get("url"), "events": data.get("events")})
    secret = str(data.get("secret") or "") or secrets.token_urlsafe(32)
    now = _now()
    sub = WebhookSubscription(id=uuid.uuid4().hex, name=str(data.get("name") or data["url"])[:200], url=data["url"],
                              events=list(data["events"]), workflow_id=data.get("workflow_id"),
                              secret=box.encrypt(secret), active=bool(data.get("active", True)), created_at=now,
                              updated_at=now, created_by=actor)
    session.add(sub)
    session.flush()
    audit.record(session, actor, "webhook_subscription.create", "webhook_subscription", sub.id,
                 after=subscription_view(sub))
    return sub, secret


def get_subscription(session: Session, sub_id: str) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(f"There is no webhook subscription '{sub_id}'")
    return sub


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.created_at)))


def update_subscription(session: Session, box: SecretBox, sub_id: str, data: dict[str, Any], actor: str
                        ) -> tuple[WebhookSubscription, str | None]:
    sub = get_subscription(session, sub_id)
    _check({k: v for k, v in data.items() if k in ("url", "events")})
    before = subscription_view(sub)
    for k in ("name", "url", "events", "workflow_id", "active"):
        if k in data:
            setattr(sub, k, data[k])
    secret = None
    if data.get("rotate_secret"):
        secret = secrets.token_urlsafe(32)
        sub.secret = box.encrypt(secret)
    sub.updated_at = _now()
    audit.record(session, actor, "webhook_subscription.update", "webhook_subscription", sub.id, before=before,
                 after={**subscription_view(sub), **({"secret_rotated": True} if secret else {})})
    return sub, secret


def delete_subscription(session: Session, sub_id: str, actor: str) -> None:
    sub = get_subscription(session, sub_id)
    audit.record(session, actor, "webhook_subscription.delete", "webhook_subscription", sub.id,
                 before=subscription_view(sub))
    session.delete(sub)


def delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    return {"id": d.id, "subscription_id": d.subscription_id, "event": d.event, "event_key": d.event_key,
            "status": d.status, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at,
            "last_status": d.last_status, "last_error": d.last_error, "log": d.log or [], "payload": d.payload,
            "created_at": d.created_at, "delivered_at": d.delivered_at}


def list_deliveries(session: Session, sub_id: str, status: str | None = None, limit: int = 50, offset: int = 0
                    ) -> tuple[list[WebhookDelivery], int]:
    get_subscription(session, sub_id)
    q = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id)
    if status:
        q = q.where(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)
                           .offset(offset))
    return list(rows), total


def redeliver(session: Session, sub_id: str, delivery_id: str, actor: str) -> WebhookDelivery:
    d = session.get(WebhookDelivery, delivery_id)
    if d is None or d.subscription_id != sub_id:
        raise NotFound(f"There is no delivery '{delivery_id}' for this subscription")
    d.status, d.next_attempt_at, d.lease_until, d.attempts = "pending", _now(), None, 0
    audit.record(session, actor, "webhook_delivery.redeliver", "webhook_subscription", sub_id,
                 after={"delivery": delivery_id})
    return d


# --------------------------------------------------------------------------------- hub
class WebhookHub:
    """Publishes events into the outbox and sends what is due (``tick``)."""

    CACHE = 2.0
    SCAN = 2.0
    BATCH = 100
    CONCURRENCY = 10
    KEEP = timedelta(days=30)  # delivered and failed deliveries are kept this long
    PRUNE_EVERY = 3600.0

    def __init__(self, db: Any, box: SecretBox, settings: Any) -> None:
        self.db = db
        self.box = box
        self.max_attempts = int(getattr(settings, "webhooks_max_attempts", 8))
        self.timeout = float(getattr(settings, "webhooks_timeout", 10.0))
        self.backoff = 5.0  # seconds before the second attempt; doubled each time
        self.max_backoff = 3600.0
        self._subs: list[dict[str, Any]] | None = None
        self._subs_at = 0.0
        self._round: asyncio.Task[int] | None = None
        self._again = False
        self._scan_at = 0.0
        self._pruned_at = time.monotonic()
        self._since: datetime | None = None
        self._reviews_since: datetime | None = None
        self._runs_since: datetime | None = None
        self._client: httpx.AsyncClient | None = None

    # -- subscriptions (cached: publishing must cost nothing when nobody listens) ---------
    def subscriptions(self) -> list[dict[str, Any]]:
        if self._subs is None or time.monotonic() - self._subs_at > self.CACHE:
            with self.db.session() as s:
                self._subs = [{"id": x.id, "events": list(x.events or []), "workflow_id": x.workflow_id,
                               "created_at": x.created_at}
                              for x in s.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))]
            self._subs_at = time.monotonic()
        return self._subs

    def invalidate(self) -> None:
        self._subs = None

    def _matching(self, event: str, workflow_id: str | None, only: str | None = None) -> list[str]:
        return [s["id"] for s in self.subscriptions()
                if (only is None or s["id"] == only)
                and (event in s["events"] or ("*" in s["events"] and event != "ping") or only is not None)
                and (not s["workflow_id"] or s["workflow_id"] == workflow_id)]

    # -- publishing -----------------------------------------------------------------------
    def publish(self, event: str, data: dict[str, Any], key: str, *, workflow_id: str | None = None,
                only: str | None = None) -> int:
        """Write the event for every subscription that wants it; answers how many rows were
        written (an event key already published to a subscription is not written again)."""
        subs = self._matching(event, workflow_id, only)
        if not subs:
            return 0
        now = _now()
        payload = {"event": event, "occurred_at": now.isoformat(), "data": data}
        for attempt in (1, 2):
            try:
                written = self._write(subs, event, key[:300], payload, now)
                break
            except IntegrityError:  # another process published the same event at the same moment
                if attempt == 2:
                    raise
        if written:
            self.kick()
        return written

    def _write(self, subs: list[str], event: str, key: str, payload: dict[str, Any], now: datetime) -> int:
        written = 0
        with self.db.write() as s:
            existing = set(s.scalars(select(WebhookDelivery.subscription_id).where(
                WebhookDelivery.subscription_id.in_(subs), WebhookDelivery.event_key == key)))
            for sid in subs:
                if sid not in existing:
                    s.add(WebhookDelivery(id=uuid.uuid4().hex, subscription_id=sid, event=event, event_key=key,
                                          payload=payload, status="pending", attempts=0, next_attempt_at=now, log=[],
                                          created_at=now))
                    written += 1
        return written

    @staticmethod
    def _run_event(run: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
        """(event, data, key) of a run that ended; the key is the same whoever publishes it."""
        event = f"run.{run.get('status')}"
        data = {k: run.get(k) for k in ("workflow_id", "version", "status", "mode", "trigger_node", "retries",
                                        "parent_run_id")}
        data["run_id"] = run.get("id")
        for k in ("started_at", "finished_at"):
            v = run.get(k)
            data[k] = v.isoformat() if isinstance(v, datetime) else v
        if run.get("error"):
            err = run["error"]
            data["error"] = {k: err.get(k) for k in ("message", "node_id", "type")} if isinstance(err, dict) else err
        return event, data, f"{event}:{run.get('id')}:{run.get('retries') or 0}"

    def on_run_settled(self, run: dict[str, Any]) -> None:
        """The runner's hook: runs that ended become events at once (``scan_runs`` reads them
        back from the table, so one whose process died right after the commit is not lost)."""
        status = run.get("status")
        if status not in RUN_ENDS or run.get("mode") == "test":
            return  # editor test runs are no events
        event, data, key = self._run_event(run)
        if not self._matching(event, run.get("workflow_id")):
            return
        try:
            self.publish(event, data, key, workflow_id=run.get("workflow_id"))
        except Exception:  # the run is done; its event must not break the engine
            log.exception("could not publish %s for run %s", event, run.get("id"))

    def scan_runs(self) -> int:
        """``run.completed`` / ``run.failed`` / ``run.cancelled`` for every run that ended since the
        last scan and has no delivery yet (the hook above normally wrote it already)."""
        subs = [s for s in self.subscriptions() if "*" in s["events"] or any(e.startswith("run.") for e in s["events"])]
        if not subs:
            self._runs_since = None
            return 0
        from datacollect.db.models import Run

        now = _now()
        since = self._runs_since or max(min(s["created_at"] for s in subs), now - timedelta(days=1))
        cols = (Run.id, Run.workflow_id, Run.version, Run.status, Run.mode, Run.trigger_node, Run.retries,
                Run.parent_run_id, Run.started_at, Run.finished_at, Run.error)
        with self.db.session() as s:
            rows = [dict(r._mapping) for r in s.execute(
                select(*cols).where(Run.finished_at >= since, Run.status.in_(RUN_ENDS), Run.mode != "test")
                .order_by(Run.finished_at).limit(1000))]
            events = [self._run_event(r) for r in rows]
            done = set(s.scalars(select(WebhookDelivery.event_key).where(
                WebhookDelivery.event_key.in_([k for _, _, k in events]))))
        n = 0
        for run, (event, data, key) in zip(rows, events, strict=True):
            if key not in done:
                n += self.publish(event, data, key, workflow_id=run["workflow_id"])
        self._runs_since = (rows[-1]["finished_at"] if len(rows) == 1000 else now) - timedelta(seconds=30)
        return n

    def scan_responses(self) -> int:
        """``response.submitted`` for every response revision stored since the last scan (read
        from the table, so a submission is never lost to a restart)."""
        subs = [s for s in self.subscriptions() if "response.submitted" in s["events"] or "*" in s["events"]]
        if not subs:
            self._since = None
            return 0
        from datacollect.db.forms_models import FormResponse

        now = _now()
        since = self._since or max(min(s["created_at"] for s in subs), now - timedelta(days=1))
        n = 0
        with self.db.session() as s:
            rows = list(s.scalars(select(FormResponse).where(FormResponse.updated_at >= since,
                                                             FormResponse.status == "submitted")
                                  .order_by(FormResponse.updated_at).limit(1000)))
        for r in rows:
            data = {"response_id": r.id, "form": {"name": r.form_name, "version": r.form_version, "key": r.form_key},
                    "revision": r.revision, "campaign_id": r.campaign_id, "request_id": r.request_id,
                    "recipient_email": r.recipient_email, "source": r.source, "run_id": r.run_id,
                    "submitted_at": r.updated_at.isoformat()}
            n += self.publish("response.submitted", data, f"response.submitted:{r.id}:{r.revision}")
        # look a little back next time: a transaction that committed late has an older stamp
        self._since = (rows[-1].updated_at if len(rows) == 1000 else now) - timedelta(seconds=30)
        return n

    def scan_reviews(self) -> int:
        """``review.decided`` for every review decision stored since the last scan (read from the
        review items, so a decision is never lost to a restart)."""
        subs = [s for s in self.subscriptions() if "review.decided" in s["events"] or "*" in s["events"]]
        if not subs:
            self._reviews_since = None
            return 0
        try:
            from datacollect.reviews.models import ReviewItem
        except ImportError:  # pragma: no cover - the reviews package is part of the product
            return 0
        now = _now()
        since = self._reviews_since or max(min(s["created_at"] for s in subs), now - timedelta(days=1))
        with self.db.session() as s:
            rows = list(s.scalars(select(ReviewItem).where(ReviewItem.decided_at >= since,
                                                           ReviewItem.decision.is_not(None))
                                  .order_by(ReviewItem.decided_at).limit(1000)))
        n = 0
        for it in rows:
            at = it.decided_at.isoformat() if it.decided_at else None
            data = {"review_item_id": it.id, "queue": it.queue, "decision": it.decision, "decided_by": it.decided_by,
                    "decided_at": at, "reason": it.reason, "round": it.round, "title": it.title,
                    "subject_key": it.subject_key, "response_id": it.response_id, "run_id": it.run_id,
                    "workflow_id": it.workflow_id}
            n += self.publish("review.decided", data, f"review.decided:{it.id}:{it.round}:{it.decision}:{at}",
                              workflow_id=it.workflow_id)
        self._reviews_since = (rows[-1].decided_at if len(rows) == 1000 else now) - timedelta(seconds=30)
        return n

    # -- sending --------------------------------------------------------------------------
    def kick(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here: the next tick sends it
        if self._round is not None and not self._round.done():
            self._again = True
            return
        self._round = loop.create_task(self._rounds())

    async def tick(self) -> None:
        if time.monotonic() - self._scan_at > self.SCAN:
            self._scan_at = time.monotonic()
            await asyncio.to_thread(self.scan_responses)
            await asyncio.to_thread(self.scan_reviews)
            await asyncio.to_thread(self.scan_runs)
        if time.monotonic() - self._pruned_at > self.PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            await asyncio.to_thread(self.prune)
        self.kick()

    def prune(self, older_than: timedelta | None = None) -> int:
        """Forget delivered and failed deliveries older than ``KEEP`` (the log stays bounded)."""
        cut = _now() - (older_than or self.KEEP)
        with self.db.write() as s:
            res = s.execute(delete(WebhookDelivery).where(WebhookDelivery.status.in_(("delivered", "failed")),
                                                          WebhookDelivery.created_at < cut))
        return int(res.rowcount or 0)

    async def _rounds(self) -> int:
        total = 0
        while True:
            self._again = False
            n = await self.deliver_due()
            total += n
            if not self._again and n < self.BATCH:
                return total

    async def wait_idle(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self._round is not None and not self._round.done() and time.monotonic() < deadline:
            await asyncio.wait([self._round], timeout=deadline - time.monotonic())

    async def stop(self) -> None:
        if self._round is not None and not self._round.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._round), 5)
            except (TimeoutError, asyncio.CancelledError):
                self._round.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _claim(self) -> list[dict[str, Any]]:
        now = _now()
        lease = now + timedelta(seconds=self.timeout * 3)
        with self.db.write() as s:
            rows = list(s.execute(
                select(WebhookDelivery, WebhookSubscription)
                .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                .where(or_(and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
                           and_(WebhookDelivery.status == "sending", WebhookDelivery.lease_until < now)))
                .order_by(WebhookDelivery.next_attempt_at).limit(self.BATCH)))
            out = []
            for d, sub in rows:
                taken = s.execute(update(WebhookDelivery).where(
                    WebhookDelivery.id == d.id, WebhookDelivery.status == d.status,
                    WebhookDelivery.attempts == d.attempts).values(status="sending", lease_until=lease))
                if taken.rowcount:
                    out.append({"id": d.id, "event": d.event, "payload": d.payload, "attempts": d.attempts,
                                "url": sub.url, "secret": sub.secret, "active": sub.active, "log": list(d.log or [])})
        return out

    async def deliver_due(self) -> int:
        """Send what is due now; answers how many deliveries were tried."""
        jobs = await asyncio.to_thread(self._claim)
        if not jobs:
            return 0
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                             headers={"User-Agent": "datacollect-webhooks"})
        sem = asyncio.Semaphore(self.CONCURRENCY)

        async def one(job: dict[str, Any]) -> dict[str, Any]:
            async with sem:
                return await self._send(job)

        results = await asyncio.gather(*(one(j) for j in jobs))
        await asyncio.to_thread(self._record, results)
        return len(jobs)

    async def _send(self, job: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"id": job["id"], **job["payload"]}, separators=(",", ":"), default=str).encode()
        stamp = str(int(time.time()))
        t0 = time.perf_counter()
        status: int | None = None
        error: str | None = None
        if not job["active"]:
            return {**job, "status": None, "error": "the subscription is paused", "ms": 0.0, "skip": True}
        try:
            secret = self.box.decrypt(job["secret"])
            r = await self._client.post(job["url"], content=body, headers={  # type: ignore[union-attr]
                "Content-Type": "application/json", "X-Datacollect-Event": job["event"],
                "X-Datacollect-Delivery": job["id"], "X-Datacollect-Timestamp": stamp,
                "X-Datacollect-Signature": sign(secret, stamp, body)})
            status = r.status_code
            if not 200 <= status < 300:
                error = f"answered {status} {r.reason_phrase}".strip()
        except httpx.HTTPError as e:
            from datacollect.integrations.netcheck import classify

            error = classify(e, job["url"]).message
        except Exception as e:  # a secret that cannot be read, say
            error = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        return {**job, "status": status, "error": error, "ms": round((time.perf_counter() - t0) * 1000, 1)}

    def _record(self, results: list[dict[str, Any]]) -> None:
        now = _now()
        with self.db.write() as s:
            for r in results:
                d = s.get(WebhookDelivery, r["id"])
                if d is None or d.status != "sending":
                    continue
                if r.get("skip"):
                    d.status, d.lease_until, d.next_attempt_at = "pending", None, now + timedelta(minutes=5)
                    continue
                attempts = (d.attempts or 0) + 1
                entry = {"at": now.isoformat(), "attempt": attempts, "status": r["status"], "error": r["error"],
                         "duration_ms": r["ms"]}
                d.log = [*(d.log or []), entry][-LOG_KEEP:]
                d.attempts, d.last_status, d.last_error, d.lease_until = attempts, r["status"], r["error"], None
                if r["error"] is None:
                    d.status, d.delivered_at, d.next_attempt_at = "delivered", now, None
                elif attempts >= self.max_attempts or r["status"] == 410:
                    d.status, d.next_attempt_at = "failed", None
                    log.warning("webhook delivery %s to %s failed for good: %s", d.id, r["url"], r["error"])
                else:
                    wait = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
                    d.status = "pending"
                    d.next_attempt_at = now + timedelta(seconds=wait / 2 + random.uniform(0, wait / 2))


__all__ = ["EVENTS", "WebhookHub", "create_subscription", "delete_subscription", "delivery_view",
           "get_subscription", "list_deliveries", "list_subscriptions", "redeliver", "sign",
           "subscription_view", "update_subscription"]
