"""The forms service: what ties forms to the rest of the platform.

* **Campaigns** (``create_campaign``; ``start_campaign`` for the SendForm node): written in
  one transaction, then delivered by ``process_due``, which also sends reminders, marks
  requests overdue at the deadline and escalates to the campaign's owner. ``tick`` is the
  scheduler's hook: it starts a delivery round in the background when none is running, so
  timers and cron fires never wait on a mail server.
* **Public links** (``submit``, ``upload``, ``delegate``): the short write transaction first,
  then what follows a submission: the SendForm activation waiting for the campaign is woken
  with ``runner.deliver_event("form:<campaign id>", item)``, and every active workflow with a
  FormTrigger on the form starts a run with the response as its item.
* The SendForm port: ``start_campaign``, ``progress``, ``responses``, ``finish``.

The service holds no per-request state; several API processes and workers may run it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from datacollect.db.forms_models import Campaign, FormRequest, FormResponse, SentMail
from datacollect.db.models import PendingEvent, Workflow, WorkflowVersion
from datacollect.forms import campaigns as camps
from datacollect.forms import links
from datacollect.forms.catalog import find_version, schema_of
from datacollect.forms.delivery import (
    fmt_deadline,
    render_changes,
    render_escalation,
    render_message,
    sms_text,
)
from datacollect.forms.errors import FileTooLarge, FileTypeRefused
from datacollect.forms.responses import response_item
from datacollect.integrations.blobs import BlobTooLarge, new_key
from datacollect.integrations.smtp import LedgerMailer, Mail, MailUnavailable, RecipientRefused

log = logging.getLogger("datacollect.forms")
#: whether a workflow changed since the form triggers were read (a Core statement built once:
#: every submission asks)
#: how often the scheduler looks for form-trigger runs that did not start, how long a
#: submission's own start has before that, and how far back the first look goes
TRIGGER_SWEEP_EVERY = 30.0
KEPT_SWEEP_EVERY = 10.0
KEPT_GRACE = timedelta(seconds=10)
TRIGGER_GRACE = timedelta(seconds=30)
TRIGGER_LOOKBACK = timedelta(days=1)


def trigger_run_id(response_id: str, revision: int, workflow_id: str, node_id: str) -> str:
    """The run a submission starts for one FormTrigger: the same id whoever starts it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{response_id}/{revision}/{workflow_id}/{node_id}").hex


_TRIGGERS_STAMP = select(func.count(), func.max(Workflow.__table__.c.updated_at))
RETRY_DELIVERY = timedelta(minutes=1)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Job:
    request_id: str
    campaign_id: str
    kind: str  # invitation | reminder
    channel: str  # email | sms
    address: str
    subject: str = ""
    text: str = ""
    html: str = ""
    key: str = ""


class FormsService:
    def __init__(self, db: Any, settings: Any, *, blobs: Any = None, mailer: Any = None, sms: Any = None,
                 runner: Any = None) -> None:
        self.db = db
        self.settings = settings
        self.blobs = blobs
        self.raw_mailer = mailer
        self.mailer = LedgerMailer(mailer, self._claim_mail, self._mail_done, self._release_mail) if mailer else None
        self.sms = sms
        self.runner = runner
        self._round: asyncio.Task[int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._again = False
        self._triggers: dict[str, list[tuple[str, str]]] = {}
        self._triggers_stamp: Any = None
        self._triggers_at = 0.0
        #: awaited after each stored submission with the response's item (the reviews service
        #: takes back a response that answers a request for changes)
        self.submit_listeners: list[Any] = []
        self._trigger_sweep_at = 0.0
        self._kept_sweep_at = 0.0
        self._trigger_since: datetime | None = None

    @property
    def public_url(self) -> str:
        return str(self.settings.base_url)

    def link(self, token: str) -> str:
        return f"{self.public_url}/f/{token}"

    # -- campaigns ------------------------------------------------------------------------
    def create_campaign(self, form_id: str, recipients: list[Any], *, actor: str, **options: Any
                        ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Write a campaign; answers (its summary, the links of a portal campaign) and starts
        its delivery in the background."""
        options.setdefault("link_days", self.settings.form_link_days)
        options.setdefault("grace_hours", self.settings.form_grace_hours)
        with self.db.write() as s:
            camp, minted = camps.create_campaign(s, form_id, recipients, actor=actor, **options)
            summary = self._summary(s, camp)
            out = [{"request_id": r.id, "recipient": r.recipient, "url": self.link(tok)} for r, tok in minted]
        self.kick()
        return summary, out

    async def start_campaign(self, form_id: str, recipients: list[Any], *, campaign_id: str,
                             origin: dict[str, Any], **options: Any) -> dict[str, Any]:
        """SendForm's entry: idempotent by ``campaign_id`` (a retried activation makes no second
        campaign)."""
        summary, _ = self.create_campaign(form_id, recipients, actor=f"workflow:{origin.get('workflow_id')}",
                                          campaign_id=campaign_id, origin=origin, **options)
        return summary

    def _summary(self, s: Any, camp: Campaign) -> dict[str, Any]:
        return {"id": camp.id, "form_key": camp.form_key, "name": camp.name, "status": camp.status,
                "delivery": camp.delivery, "deadline": camp.deadline.isoformat() if camp.deadline else None,
                "total": camp.total}

    def schema(self, form_id: str) -> tuple[Any, Any]:
        """(version row, FormSchema) of a form key or name."""
        from datacollect.forms.catalog import schema_for

        with self.db.session() as s:
            row, schema = schema_for(s, form_id)
            s.expunge(row)
            return row, schema

    def progress(self, campaign_id: str) -> dict[str, int]:
        with self.db.session() as s:
            return camps.progress(s, campaign_id)

    def responses(self, campaign_id: str) -> list[dict[str, Any]]:
        """The current answers of a campaign, one item per answered request, oldest first."""
        with self.db.session() as s:
            rows = list(s.scalars(select(FormResponse).where(FormResponse.campaign_id == campaign_id)
                                  .order_by(FormResponse.submitted_at, FormResponse.id)))
            if not rows:
                return []
            schema = schema_of(find_version(s, rows[0].form_key))
            return [response_item(r, schema) for r in rows]

    def finish(self, campaign_id: str) -> None:
        """The SendForm waiting for this campaign has gone on: later answers are stored but
        wake nothing."""
        from sqlalchemy import delete

        from datacollect.db.models import PendingEvent

        with self.db.write() as s:
            camp = s.get(Campaign, campaign_id)
            if camp is not None:
                camp.waiting = False
            s.execute(delete(PendingEvent).where(PendingEvent.key == f"form:{campaign_id}"))

    # -- delivery -------------------------------------------------------------------------
    def kick(self) -> None:
        """Start a delivery round now (in the background) unless one is running. From a
        worker thread (a sync endpoint) the round is started on the platform's loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self.kick)
            return  # else no loop at all (a CLI call): the scheduler's tick delivers
        self._loop = loop
        if self._round is not None and not self._round.done():
            self._again = True
            return
        self._round = loop.create_task(self._rounds())

    async def _rounds(self) -> int:
        done = 0
        while True:
            self._again = False
            try:
                done += await self.process_due()
            except Exception:  # the next tick tries again
                log.exception("form delivery round failed")
                return done
            if not self._again:
                return done

    async def tick(self) -> None:
        """The scheduler's hook (every tick): start a round when something may be due; now and
        then, start the form-trigger runs a stopped process did not."""
        self._loop = asyncio.get_running_loop()
        if self._round is None or self._round.done():
            self.kick()
        if self.runner is not None and time.monotonic() - self._kept_sweep_at > KEPT_SWEEP_EVERY:
            self._kept_sweep_at = time.monotonic()
            try:
                await self.hand_over_kept_answers()
            except Exception:  # the next sweep tries again
                log.exception("could not hand kept answers to their waiting workflows")
        if self.runner is not None and time.monotonic() - self._trigger_sweep_at > TRIGGER_SWEEP_EVERY:
            self._trigger_sweep_at = time.monotonic()
            try:
                await self.start_missed_trigger_runs()
            except Exception:  # the next sweep tries again
                log.exception("could not look for form-trigger runs that did not start")

    # -- answers kept for a waiting workflow that no one handed over ----------------------
    async def hand_over_kept_answers(self, at: datetime | None = None) -> int:
        """Answers kept for a campaign's waiting workflow (written with the response) that were
        not handed over a while after (the process stopped right after the commit): hand them
        over now. Answers how many activations were woken."""
        from datacollect.db.models import PendingEvent

        before = (at or now()) - KEPT_GRACE
        with self.db.session() as s:
            keys = list(s.scalars(select(PendingEvent.key).where(PendingEvent.key.like("form:%"),
                                                                 PendingEvent.created_at <= before)
                                  .group_by(PendingEvent.key).limit(200)))
        woken = 0
        for key in keys:
            woken += await self.runner.deliver_kept(key)
        if woken:
            log.warning("handed %d kept answer(s) to their waiting workflows", woken)
        return woken

    # -- form triggers whose run did not start ---------------------------------------------
    async def start_missed_trigger_runs(self, at: datetime | None = None, limit: int = 500) -> int:
        """A submission names its trigger runs in the response (``meta.trigger_runs``, in the
        same commit) and starts them right after the commit. A process that stopped in between
        left them unstarted: start them now, with the same run ids (so never twice), once the
        submission's own start has had ``TRIGGER_GRACE`` to happen. Answers how many started."""
        at = at or now()
        missed = await asyncio.to_thread(self._missed_trigger_runs, at, limit)
        started = 0
        for item, (wf, node), run_id in missed:
            try:
                await self.runner.start_run(wf, [item], trigger_node=node, mode="form", run_id=run_id,
                                            require_active=True, drive=False)
                started += 1
            except Exception as exc:  # deactivated since, or started meanwhile: nothing to do
                log.info("form trigger %s/%s: run %s not started by the sweep: %s", wf, node, run_id, exc)
        if started:
            log.warning("started %d form-trigger run(s) that a stopped process had not", started)
        return started

    def _missed_trigger_runs(self, at: datetime, limit: int) -> list[tuple[dict[str, Any], tuple[str, str], str]]:
        from datacollect.db.models import Run

        since = self._trigger_since or at - TRIGGER_LOOKBACK
        before = at - TRIGGER_GRACE
        out: list[tuple[dict[str, Any], tuple[str, str], str]] = []
        with self.db.session() as s:
            rows = list(s.scalars(select(FormResponse).where(FormResponse.updated_at >= since,
                                                             FormResponse.updated_at <= before)
                                  .order_by(FormResponse.updated_at).limit(limit)))
            named = {rid: r for r in rows for rid in ((r.meta or {}).get("trigger_runs") or [])}
            if named:
                known = set(s.scalars(select(Run.id).where(Run.id.in_(list(named)))))
                for r in {id(r): r for rid, r in named.items() if rid not in known}.values():
                    wanted = set((r.meta or {}).get("trigger_runs") or []) - known
                    for wf, node in self.form_triggers(s, r.form_key, r.form_name):
                        run_id = trigger_run_id(r.id, r.revision, wf, node)
                        if run_id in wanted:
                            out.append((response_item(r, schema_of(find_version(s, r.form_key))), (wf, node), run_id))
        # the next sweep goes on from here (a little back: a commit can land with an older stamp)
        self._trigger_since = (rows[-1].updated_at if len(rows) == limit else before) - timedelta(seconds=5)
        return out

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for the running delivery round (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._round is not None and not self._round.done() and time.monotonic() < deadline:
            await asyncio.wait({self._round}, timeout=deadline - time.monotonic())

    async def process_due(self, at: datetime | None = None, batch: int = 200) -> int:
        """Deliver invitations, send due reminders, mark overdue requests and escalate, until
        nothing is due; answers how many requests were acted on."""
        total = 0
        while True:
            at_ = at or now()
            if not await asyncio.to_thread(self._due, at_):
                return total
            jobs, acted = await asyncio.to_thread(self._plan, at_, batch)
            total += acted
            if jobs:
                await self._send(jobs, at_)
            n = await self._escalate(at_)
            total += n
            if acted < batch:
                return total

    def _due(self, at: datetime) -> bool:
        with self.db.session() as s:
            return camps.anything_due(s, at)

    def _plan(self, at: datetime, batch: int) -> tuple[list[_Job], int]:
        jobs: list[_Job] = []
        with self.db.write() as s:
            due = camps.claim_due(s, at, batch)
            if not due:
                return [], 0
            cids = {r.campaign_id for r in due}
            campaigns = {c.id: c for c in s.scalars(select(Campaign).where(Campaign.id.in_(cids)))}
            forms: dict[str, Any] = {}
            for r in due:
                c = campaigns[r.campaign_id]
                if c.form_key not in forms:
                    row = find_version(s, c.form_key)
                    sch = schema_of(row)
                    forms[c.form_key] = {"title": sch.title or row.key, "name": row.name, "version": row.version,
                                         "key": row.key}
                kind = None
                if r.state == "changes_requested" and (r.recipient or {}).get("_changes_mail"):
                    kind = "changes"
                elif r.state == "pending":
                    if c.deadline is not None and c.deadline <= at:
                        r.state, r.next_action_at = "overdue", None
                        continue
                    kind = "invitation"
                elif r.state in camps.OPEN_STATES:
                    if c.deadline is not None and c.deadline <= at:
                        r.state, r.next_action_at = "overdue", None
                        continue
                    times = camps.reminder_times(r.sent_at or r.created_at, list(c.reminders or []), c.deadline)
                    if r.state != "bounced" and r.reminders_sent < len(times) and times[r.reminders_sent] <= at:
                        kind = "reminder"
                    else:
                        r.next_action_at = camps.next_action(r, c, at)
                        continue
                else:
                    r.next_action_at = None
                    continue
                channel = "sms" if c.delivery == "sms" else "email"
                address = (r.phone or (r.recipient or {}).get("mobile")) if channel == "sms" else r.email
                if not address:
                    r.state, r.delivery_error, r.next_action_at = "bounced", f"no {channel} address", None
                    continue
                token = camps.mint_link(s, r.id, kind, at)
                rec = {k: v for k, v in (r.recipient or {}).items() if not k.startswith("_")}
                scope = {"recipient": rec, "link": self.link(token), "form": forms[c.form_key],
                         "deadline": fmt_deadline(c.deadline), "campaign": {"name": c.name, "id": c.id},
                         "delegated_by": rec.get("delegated_by") if kind == "invitation" else None}
                n = r.reminders_sent + 1 if kind == "reminder" else 0
                job = _Job(r.id, c.id, kind, channel, address, key=f"form/{r.id}/{kind}/{n}")
                try:
                    if channel == "sms":
                        job.text = sms_text(scope, n)
                    elif kind == "changes":
                        job.key = f"form/{r.id}/changes/{uuid.uuid4().hex[:8]}"
                        job.subject, job.text, job.html = render_changes({**scope, "comments": r.comments or {}})
                    else:
                        job.subject, job.text, job.html = render_message(c.settings or {}, scope, reminder=n)
                except Exception as exc:  # a template that fails for this recipient
                    r.delivery_error, r.next_action_at = f"The message could not be written: {exc}", None
                    continue
                jobs.append(job)
            return jobs, len(due)

    async def _send(self, jobs: list[_Job], at: datetime) -> None:
        results: list[Any] = [None] * len(jobs)
        mails = [(i, j) for i, j in enumerate(jobs) if j.channel == "email"]
        if mails:
            if self.raw_mailer is None:
                for i, _ in mails:
                    results[i] = MailUnavailable("No mail server is configured (DATACOLLECT_SMTP_HOST)")
            else:
                batch = [Mail([j.address], j.subject, j.text, j.html, {"Idempotency-Key": j.key}) for _, j in mails]
                if hasattr(self.raw_mailer, "send_many"):
                    sent = await self.raw_mailer.send_many(batch)
                else:
                    sent = []
                    for m in batch:
                        try:
                            sent.append(await self.raw_mailer.send(m.to, m.subject, m.text, m.html, m.headers))
                        except Exception as exc:
                            sent.append(exc)
                for (i, _), res in zip(mails, sent, strict=True):
                    results[i] = res
        for i, j in enumerate(jobs):
            if j.channel == "sms":
                try:
                    results[i] = await self.sms.send(j.address, j.text) if self.sms else MailUnavailable(
                        "No SMS provider is configured")
                except Exception as exc:
                    results[i] = exc
        await asyncio.to_thread(self._record, jobs, results, at)

    def _record(self, jobs: list[_Job], results: list[Any], at: datetime) -> None:
        with self.db.write() as s:
            # locked and read again: a respondent may have answered while the mail was out
            reqs = {r.id: r for r in s.scalars(select(FormRequest).where(
                FormRequest.id.in_([j.request_id for j in jobs])).with_for_update()
                .execution_options(populate_existing=True))}
            cmap = {c.id: c for c in s.scalars(select(Campaign).where(
                Campaign.id.in_({j.campaign_id for j in jobs})))}
            for j, res in zip(jobs, results, strict=True):
                r = reqs.get(j.request_id)
                c = cmap.get(j.campaign_id)
                if r is None or c is None:
                    continue
                if isinstance(res, RecipientRefused):
                    r.state, r.delivery_error, r.next_action_at = "bounced", res.message, c.deadline
                elif isinstance(res, Exception):
                    r.delivery_error = str(res)
                    r.next_action_at = at + RETRY_DELIVERY
                    log.warning("form link to %s not delivered, trying again in a minute: %s", j.address, res)
                else:
                    r.delivery_error = None
                    if j.kind == "changes":
                        r.recipient = {k: v for k, v in (r.recipient or {}).items() if k != "_changes_mail"}
                    elif j.kind == "invitation":
                        r.sent_at = at
                        if r.state == "pending":
                            r.state = "sent"
                    else:
                        r.reminders_sent += 1
                        r.last_reminder_at = at
                    r.next_action_at = camps.next_action(r, c, at)

    async def _escalate(self, at: datetime) -> int:
        due, work = await asyncio.to_thread(self._plan_escalations, at)
        for cid, owner, subject, text, body_html in work:
            if self.mailer is None:
                log.warning("campaign %s: no mail server to escalate to %s", cid, owner)
                continue
            try:
                await self.mailer.send([owner], subject, text, body_html, {"Idempotency-Key": f"escalation/{cid}"})
            except Exception as exc:
                log.warning("campaign %s: the escalation to %s failed: %s", cid, owner, exc)
        return due

    def _plan_escalations(self, at: datetime) -> tuple[int, list[tuple[str, str, str, str, str]]]:
        with self.db.write() as s:
            due = camps.claim_campaign_checks(s, at)
            work = []
            for c in due:
                if c.deadline is None or c.deadline > at:
                    continue
                left = camps.outstanding(s, c.id, lock=True)
                # requests not yet marked are overdue now
                for r in left:
                    if r.state in camps.OPEN_STATES:
                        r.state, r.next_action_at = "overdue", None
                if c.escalation_owner and left and c.escalated_at is None:
                    row = find_version(s, c.form_key)
                    sch = schema_of(row)
                    scope = {"form": {"title": sch.title or row.key, "key": row.key},
                             "campaign": {"name": c.name, "id": c.id}, "deadline": fmt_deadline(c.deadline),
                             "total": c.total,
                             "outstanding": [{"name": (r.recipient or {}).get("name"), "email": r.email,
                                              "phone": r.phone, "id": r.id, "state": "overdue"} for r in left]}
                    work.append((c.id, c.escalation_owner, *render_escalation(scope)))
                    c.escalated_at = at
            return len(due), work

    # -- mail ledger ----------------------------------------------------------------------
    def _claim_mail(self, key: str, to: list[str]) -> str | None:
        from sqlalchemy.exc import IntegrityError

        try:
            with self.db.write() as s:
                found = s.get(SentMail, key)
                if found is not None:
                    return found.message_id if found.status == "sent" else None
                s.add(SentMail(key=key, status="sending", recipients=to, created_at=now()))
        except IntegrityError:
            return None
        return None

    def _mail_done(self, key: str, message_id: str) -> None:
        with self.db.write() as s:
            m = s.get(SentMail, key)
            if m is not None:
                m.status, m.message_id, m.sent_at = "sent", message_id, now()

    def _release_mail(self, key: str) -> None:
        with self.db.write() as s:
            m = s.get(SentMail, key)
            if m is not None and m.status == "sending":
                s.delete(m)

    # -- public links ---------------------------------------------------------------------
    def view(self, token: str) -> dict[str, Any]:
        with self.db.write() as s:
            return links.view(s, token)

    def save_draft(self, token: str, answers: Any) -> dict[str, Any]:
        with self.db.write() as s:
            return links.save_draft(s, token, answers)

    async def submit(self, token: str, answers: Any, meta: dict[str, Any]) -> dict[str, Any]:
        with self.db.write() as s:
            resp, item, camp = links.submit(s, token, answers, meta)
            keep = bool(camp.waiting)
            cid = camp.id
            if keep:  # the answer for the waiting workflow is kept with the response, in one commit
                s.add(PendingEvent(key=f"form:{cid}", payload=item, created_at=now()))
            triggers = self.form_triggers(s, resp.form_key, resp.form_name)
            run_ids = [trigger_run_id(resp.id, resp.revision, wf, node) for wf, node in triggers]
            if run_ids:
                resp.meta = {**(resp.meta or {}), "trigger_runs": run_ids}
            answer = {"response_id": resp.id, "state": "submitted", "submitted_at": resp.updated_at,
                      "message": "Thank you! Your answers were received."}
        await self.after_submit(item, cid, keep, list(zip(triggers, run_ids, strict=True)))
        return answer

    async def after_submit(self, item: dict[str, Any], campaign_id: str | None, keep: bool,
                           triggers: list[tuple[tuple[str, str], str]]) -> None:
        for listener in self.submit_listeners:
            try:
                await listener(item)
            except Exception:  # the answer is stored; a listener's failure is logged, not the respondent's
                log.exception("a submission listener failed for response %s", item.get("response_id"))
        if self.runner is None:
            return
        if campaign_id and keep:
            try:
                await self.runner.deliver_kept(f"form:{campaign_id}")
            except Exception:  # the answer is kept; the sweep hands it over (start_missed_trigger_runs' tick)
                log.exception("could not wake the workflow waiting for campaign %s", campaign_id)
        for (wf, node), run_id in triggers:
            try:
                await self.runner.start_run(wf, [item], trigger_node=node, mode="form", run_id=run_id,
                                            require_active=True, drive=False)
            except Exception as exc:
                log.warning("form trigger %s/%s could not start a run: %s", wf, node, exc)

    async def upload(self, token: str, field: str, filename: str, content_type: str,
                     chunks: AsyncIterator[bytes], declared_size: int | None = None) -> dict[str, Any]:
        """Stream one file into the blob store under the field's limits; answers the reference
        to put in the answers (``{"key", "name", "size", "content_type"}``)."""
        import os

        with self.db.session() as s:
            req, rules = links.upload_rules(s, token, field)
            request_id = req.id
        ctype = (content_type or "application/octet-stream").split(";", 1)[0].strip().lower()
        accept = [a.strip().lower() for a in rules["accept"]]
        if accept:
            ext = os.path.splitext(filename)[1].lower()
            exts = {a if a.startswith(".") else f".{a}" for a in accept if "/" not in a}
            types = {a for a in accept if "/" in a and not a.endswith("/*")}
            families = {a[:-1] for a in accept if a.endswith("/*")}
            if not (ext in exts or ctype in types or any(ctype.startswith(f) for f in families)):
                raise FileTypeRefused(f"Files of this type are not accepted here; please upload "
                                      f"{', '.join(rules['accept'])}",
                                      details={"field": field, "accept": rules["accept"]})
        limit = rules["max_bytes"]
        too_big = (f"The file is too large: the limit for this field is {rules['max_mb']:g} MB",
                   {"field": field, "max_bytes": limit})
        if declared_size is not None and declared_size > limit:
            raise FileTooLarge(too_big[0], details=too_big[1])
        if self.blobs is None:
            raise MailUnavailable("No file store is configured")
        key = new_key(f"forms/{request_id}", filename)
        try:
            ref = await self.blobs.put(key, chunks, ctype, limit=limit)
        except BlobTooLarge:
            raise FileTooLarge(too_big[0], details=too_big[1]) from None
        try:
            with self.db.write() as s:
                links.record_upload(s, request_id, field, ref, filename)
        except Exception:
            await self.blobs.delete(key)
            raise
        return {"key": key, "name": filename, "size": ref["size"], "content_type": ctype}

    def delegate(self, token: str, email: str, name: str | None = None, note: str | None = None) -> dict[str, Any]:
        with self.db.write() as s:
            new = links.delegate(s, token, email, name, note)
            out = {"delegated_to": new.email, "state": "delegated",
                   "message": f"Thank you. {new.email} will receive a link of their own by mail; this link "
                              "no longer works."}
        self.kick()
        return out

    # -- form triggers --------------------------------------------------------------------
    TRIGGERS_TTL = 2.0

    def form_triggers(self, s: Any, form_key: str, form_name: str) -> list[tuple[str, str]]:
        """(workflow, node) of the active workflows with a FormTrigger on this form (by key, or
        by name for any version). Re-read when a workflow changed."""
        stamp = tuple(s.connection().execute(_TRIGGERS_STAMP).one())
        if True:
            if stamp != self._triggers_stamp:
                found: dict[str, list[tuple[str, str]]] = {}
                q = (select(Workflow.id, WorkflowVersion.definition)
                     .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
                           & (WorkflowVersion.version == Workflow.current_version))
                     .where(Workflow.active.is_(True)))
                for wid, definition in s.execute(q):
                    for n in (definition or {}).get("nodes", []):
                        if n.get("type") == "FormTrigger" and not n.get("disabled"):
                            fid = (n.get("config") or {}).get("form_id")
                            if isinstance(fid, str):
                                found.setdefault(fid, []).append((wid, n["id"]))
                self._triggers, self._triggers_stamp = found, stamp
        return [*self._triggers.get(form_key, []), *(self._triggers.get(form_name, []) if form_name != form_key
                                                     else [])]
