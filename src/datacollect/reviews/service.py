"""The reviews service: what ties review queues to the rest of the platform.

* **The Review node's port** (``enqueue``): the node hands its items over as plain dicts and
  waits for the event ``review:<run>/<node>/<lane>``; the answer says, per item, whether it
  is new, already decided (a retried activation), or reviewed in another activation.
* **Telling workflows** (``notify``): a decision is committed with ``notify_pending`` on the
  item; after the commit the waiting activation is woken with ``runner.deliver_event`` (in the
  background, so an API call never waits for what the workflow does next), and the flag is
  cleared. The scheduler's ``tick`` tells again what an interrupted process did not, so a
  decision always reaches its workflow (at least once; the node ignores an event it has seen).
  Each decision is also published as ``review.decided`` to outgoing webhook subscribers.
* **SLA escalation**: the tick escalates open items whose due time passed (a durable timer:
  the due time is a row, checked every tick, also after a restart).
* **Resubmissions**: the forms service calls ``on_form_submitted`` after each submission; a
  response that was waiting for changes goes back to its reviewer. The tick also sweeps for
  any it missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from datacollect.db.forms_models import FormResponse
from datacollect.reviews import decisions, queue, trail
from datacollect.reviews.form_review import FormReviews
from datacollect.reviews.models import ReviewItem
from datacollect.reviews.queue import NewItem
from datacollect.reviews.teams import SYSTEM

log = logging.getLogger("datacollect.reviews")
RETELL_AFTER = timedelta(seconds=5)
OPEN_ACTIVATION = ("pending", "ready", "running", "waiting")


def payload(it: ReviewItem) -> dict[str, Any]:
    """What the waiting activation gets: the item's values now (with any edits) and the review."""
    approved_by = [a for a in (it.first_approver, it.decided_by if it.decision == "approved" else None) if a]
    return {"item_id": it.id, "version": it.version, "status": it.status, "decision": it.decision,
            "data": it.data or {},
            "review": {"item_id": it.id, "queue": it.queue, "status": it.status, "decision": it.decision,
                       "decided_by": it.decided_by, "decided_at": it.decided_at.isoformat() if it.decided_at else None,
                       "reason": it.reason, "comments": it.comments, "approved_by": approved_by,
                       "round": it.round}}


def decided(it: ReviewItem) -> dict[str, Any]:
    """What a ``review.decided`` webhook carries."""
    return {"review_id": it.id, "queue": it.queue, "status": it.status, "decision": it.decision,
            "decided_by": it.decided_by, "decided_at": it.decided_at.isoformat() if it.decided_at else None,
            "reason": it.reason, "comments": it.comments, "first_approver": it.first_approver, "round": it.round,
            "title": it.title, "subject_key": it.subject_key, "response_id": it.response_id,
            "run_id": it.run_id, "workflow_id": it.workflow_id, "node_id": it.node_id}


class ReviewsService:
    def __init__(self, db: Any, runner: Any = None, services: Any = None) -> None:
        self.db = db
        self.runner = runner
        self.services = services
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticks = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.form_reviews = FormReviews()

    def _remember_loop(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass

    # -- the Review node's port ------------------------------------------------------------
    def enqueue(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put the node's items in their queues (idempotent by each entry's ``origin_key``)."""
        self._remember_loop()
        with self.db.write() as s:
            done = queue.enqueue(s, [NewItem(**e) for e in entries])
            return [{"id": d.id, "status": d.status, "version": d.version, "attached": d.attached,
                     **({"payload": payload(d.item)} if d.item is not None else {})} for d in done]

    # -- telling the workflows -------------------------------------------------------------
    def after_commit(self, item_ids: list[str], *, waiting: list[str] | None = None) -> None:
        """Decisions on these items were committed: wake their workflows and tell webhook
        subscribers, in the background. ``waiting``: the items a workflow waits for, when the
        caller knows (else each is looked up)."""
        if waiting is not None and not waiting and not self._publishing():
            return  # nobody to wake, nobody subscribed
        ids = list(item_ids)
        if not ids:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread (a sync endpoint): start it on the platform's loop
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._spawn, ids, waiting)
                return
            try:
                import anyio.from_thread

                anyio.from_thread.run_sync(self._spawn, ids, waiting)
            except Exception:  # no loop at all (a CLI call): the tick tells them
                log.debug("no event loop to tell %d review decisions now; the tick will", len(ids))
            return
        self._spawn(ids, waiting)

    def _spawn(self, ids: list[str], waiting: list[str] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        task = loop.create_task(self._notify_logged(ids, waiting))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify_logged(self, ids: list[str], waiting: list[str] | None = None) -> None:
        told = ids if waiting is None else waiting
        try:
            if told:
                await self.notify(told)
        except Exception:  # the tick tells them again
            log.exception("could not tell the workflows waiting for %d review decisions", len(told))
        try:
            if self._publishing():
                await asyncio.to_thread(self.publish, ids)
        except Exception:
            log.exception("could not publish %d review decisions to webhook subscribers", len(ids))

    def _hub(self) -> Any:
        return getattr(self.services.extra.get("integrations") if self.services else None, "webhooks", None)

    def _publishing(self) -> bool:
        """Whether an outgoing webhook subscribes to review decisions (the hub keeps them cached)."""
        hub = self._hub()
        return hub is not None and any("review.decided" in sub["events"] or "*" in sub["events"]
                                       for sub in hub.subscriptions())

    def publish(self, item_ids: list[str]) -> int:
        """``review.decided`` for outgoing webhook subscribers, once per decision (the key is the
        item's id and version)."""
        hub = self._hub()
        if not self._publishing():
            return 0
        n = 0
        for i in range(0, len(item_ids), 500):
            with self.db.session() as s:
                rows = list(s.scalars(select(ReviewItem).where(
                    ReviewItem.id.in_(item_ids[i:i + 500]),
                    ReviewItem.status.in_(("approved", "rejected", "changes_requested")))))
                events = [(it.id, it.version, it.workflow_id, decided(it)) for it in rows]
            for item_id, version, workflow_id, data in events:
                n += hub.publish("review.decided", data, f"review.decided:{item_id}:{version}",
                                 workflow_id=workflow_id)
        return n

    async def notify(self, item_ids: list[str], *, check_activation: bool = False) -> int:
        """Wake the activations waiting for these items' decisions; answers how many were told."""
        if self.runner is None:
            return 0
        told = 0
        for i in range(0, len(item_ids), 500):
            with self.db.session() as s:
                items = list(s.scalars(select(ReviewItem).where(ReviewItem.id.in_(item_ids[i:i + 500]),
                                                                ReviewItem.notify_pending.is_(True))))
                work = [(it.id, it.version, it.wait_key, it.run_id, it.node_id, it.lane, payload(it)) for it in items]
            done: list[tuple[str, int]] = []
            for item_id, version, key, run_id, node_id, lane, body in work:
                if key and (not check_activation or self._activation_open(run_id, node_id, lane)):
                    await self.runner.deliver_event(key, body, keep=True)
                    told += 1
                done.append((item_id, version))
            if done:
                with self.db.write() as s:
                    for item_id, version in done:
                        s.execute(update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.version == version)
                                  .values(notify_pending=False).execution_options(synchronize_session=False))
        return told

    def _activation_open(self, run_id: str | None, node_id: str | None, lane: str | None) -> bool:
        if not (run_id and node_id and lane):
            return False
        with self.runner.store.transaction() as tx:
            rows = tx.find_activations(run_id, [node_id], [lane])
        return any(r["status"] in OPEN_ACTIVATION for r in rows)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for the workflows being told (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))

    async def stop(self) -> None:
        await self.wait_idle(10)
        for t in list(self._tasks):
            t.cancel()

    # -- the scheduler's hook --------------------------------------------------------------
    async def tick(self) -> None:
        """Every scheduler tick: escalate what is late; every ~2 s: tell workflows what an
        interrupted process did not; every ~10 s: take back resubmissions that were missed."""
        self._ticks += 1
        self._loop = asyncio.get_running_loop()
        t = queue.now()
        with self.db.session() as s:
            late = s.scalar(select(ReviewItem.id).where(ReviewItem.escalate_at <= t).limit(1))
        if late is not None:
            with self.db.write() as s:
                done = queue.escalate_due(s, t)
            if done:
                log.info("escalated %d review items whose SLA passed", len(done))
        if self._ticks % 8 == 1 and self.runner is not None:
            with self.db.session() as s:
                stale = list(s.scalars(select(ReviewItem.id).where(
                    ReviewItem.notify_pending.is_(True), ReviewItem.updated_at <= t - RETELL_AFTER).limit(500)))
            if stale and not self._tasks:  # what is being told here now is not told twice
                await self.notify(stale, check_activation=True)
        if self._ticks % 40 == 1:
            await self.sweep_resubmissions()
            await asyncio.to_thread(self.sweep_form_reviews)

    async def sweep_resubmissions(self, limit: int = 200) -> int:
        with self.db.session() as s:
            q = (select(ReviewItem.response_id).join(FormResponse, FormResponse.id == ReviewItem.response_id)
                 .where(ReviewItem.status == "changes_requested", FormResponse.status == "submitted",
                        FormResponse.revision > ReviewItem.response_revision).limit(limit))
            found = sorted({r for r in s.scalars(q) if r})
        n = 0
        for rid in found:
            with self.db.write() as s:
                n += len(decisions.response_resubmitted(s, rid))
        return n

    # -- runs that end while items wait ----------------------------------------------------
    def on_run_settled(self, run: dict[str, Any]) -> None:
        """A run was cancelled or failed: its items stay in the queue (someone may still decide
        them), but no workflow waits for them any more; the trail says so."""
        if run.get("status") not in ("cancelled", "failed"):
            return
        with self.db.session() as s:
            found = s.scalar(select(ReviewItem.id).where(ReviewItem.run_id == run["id"],
                                                         ReviewItem.waiting.is_(True)).limit(1))
        if found is None:
            return
        with self.db.write() as s:
            items = list(s.scalars(select(ReviewItem).where(ReviewItem.run_id == run["id"],
                                                            ReviewItem.waiting.is_(True))))
            for it in items:
                it.waiting, it.notify_pending = False, False
                it.version += 1
                it.updated_at = queue.now()
                trail.record(s, it.id, SYSTEM, "run_ended", {"run_id": run["id"]}, {"waiting": False},
                             reason=f"the workflow run was {run['status']}")

    # -- the forms service's listener ------------------------------------------------------
    async def on_form_submitted(self, item: dict[str, Any]) -> None:
        """A form was submitted: if it answers a request for changes, its review item goes back
        to the same reviewer."""
        rid = item.get("response_id") if isinstance(item, dict) else None
        if not isinstance(rid, str):
            return
        with self.db.session() as s:
            waiting = s.scalar(select(ReviewItem.id).where(ReviewItem.response_id == rid,
                                                           ReviewItem.status == "changes_requested").limit(1))
        if waiting is None:
            form = item.get("_form") if isinstance(item.get("_form"), dict) else {}
            if form.get("key") and self._has_review(str(form["key"])):
                self.queue_form_reviews([rid])
            return
        with self.db.write() as s:
            reopened = decisions.response_resubmitted(s, rid, item)
        if reopened:
            log.info("response %s came back for review (%d items)", rid, len(reopened))

    def _has_review(self, form_key: str) -> bool:
        with self.db.session() as s:
            return self.form_reviews.settings_of(s, form_key) is not None

    def queue_form_reviews(self, response_ids: list[str]) -> list[str]:
        """Responses of forms with review on go into their queue (see form_review.py)."""
        with self.db.write() as s:
            made = self.form_reviews.queue_responses(s, response_ids)
        if made:
            log.info("%d form response(s) queued for review", len(made))
        return made

    def sweep_form_reviews(self) -> int:
        """Responses a crashed process did not queue."""
        with self.db.session() as s:
            missed = self.form_reviews.unqueued(s)
        return len(self.queue_form_reviews(missed)) if missed else 0


def add_reviews(settings: Any, db: Any, services: Any, runner: Any) -> ReviewsService:
    """Make the reviews service and plug it in: the Review node's port (``services.extra``)
    and the forms service's listener for resubmissions."""
    svc = ReviewsService(db, runner, services)
    services.extra["reviews"] = svc
    if runner is not None:
        runner.on_run_settled.append(svc.on_run_settled)
    forms = getattr(services, "forms", None)
    listeners = getattr(forms, "submit_listeners", None)
    if isinstance(listeners, list):
        listeners.append(svc.on_form_submitted)
    return svc
