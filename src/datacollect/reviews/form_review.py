"""Forms with review on (DESIGN §8): every submitted response of a form whose settings have a
``review`` block goes into a review queue by itself, without a workflow.

The submission's listener queues it at once; the reviews tick sweeps the responses of the last
day that have no review item yet (a process that died between the response's commit and the
listener), so none is missed. Queuing is idempotent (one item per response, ``form:<id>``). A
decision sets the response's status; a request for changes reopens the respondent's link and the
resubmission comes back to the same reviewer, as for any review item. A workflow whose Review
node later reviews the same response takes the item over (it then waits for its decision).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, select, true
from sqlalchemy.orm import Session

from datacollect.db.forms_models import FormResponse, FormVersion
from datacollect.engine.expressions import compile_expression, compile_template
from datacollect.forms import responses as form_responses
from datacollect.forms.schema import FormReview, FormSchema
from datacollect.reviews import queue
from datacollect.reviews.models import ReviewItem

log = logging.getLogger("datacollect.reviews")

PRIORITY_NAMES = ("low", "normal", "high", "urgent")


class FormReviews:
    """Which form versions have review on (versions never change: read once, then only new ones)."""

    def __init__(self) -> None:
        self._settings: dict[str, FormReview | None] = {}
        self._with_review: list[str] = []
        self._versions = -1

    def settings_of(self, session: Session, form_key: str) -> FormReview | None:
        if form_key not in self._settings:
            raw = session.scalar(select(FormVersion.schema).where(FormVersion.key == form_key))
            self._settings[form_key] = _review_of(raw)
        return self._settings[form_key]

    def keys_with_review(self, session: Session) -> list[str]:
        versions = session.scalar(select(func.count()).select_from(FormVersion)) or 0
        if versions != self._versions:  # a version was saved (or erased): read the ones not known
            known = set(self._settings)
            for key, raw in session.execute(select(FormVersion.key, FormVersion.schema)
                                            .where(FormVersion.key.not_in(known) if known else true())):
                self._settings[key] = _review_of(raw)
            self._with_review = [k for k, v in self._settings.items() if v is not None]
            self._versions = versions
        return self._with_review

    def queue_responses(self, session: Session, response_ids: list[str]) -> list[str]:
        """Queue these responses if their form has review on and nothing reviews them yet;
        answers the ids of the items made."""
        made: list[str] = []
        entries: list[queue.NewItem] = []
        for rid in response_ids:
            resp = session.get(FormResponse, rid)
            if resp is None or resp.status != "submitted":
                continue
            cfg = self.settings_of(session, resp.form_key)
            if cfg is None:
                continue
            if session.scalar(select(ReviewItem.id).where(ReviewItem.response_id == rid).limit(1)):
                continue  # a workflow's Review step (or an earlier round) has it
            try:
                entries.append(entry(resp, cfg))
            except Exception as exc:  # a bad expression on this answer: queue it plainly, say why
                log.warning("form review of response %s: %s; queued with the defaults", rid, exc)
                entries.append(entry(resp, cfg, plain=True))
        if entries:
            made = [e.id for e in queue.enqueue(session, entries) if e.attached == "created"]
        return made

    def unqueued(self, session: Session, since_days: float = 1.0, limit: int = 500) -> list[str]:
        """Submitted responses of forms with review on that have no review item."""
        keys = self.keys_with_review(session)
        if not keys:
            return []
        since = queue.now() - timedelta(days=since_days)
        return list(session.scalars(
            select(FormResponse.id).where(FormResponse.form_key.in_(keys), FormResponse.status == "submitted",
                                          FormResponse.updated_at >= since,
                                          ~exists().where(ReviewItem.response_id == FormResponse.id))
            .order_by(FormResponse.updated_at).limit(limit)))


def _review_of(raw: Any) -> FormReview | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("settings"), dict) or not raw["settings"].get("review"):
        return None
    try:
        return FormSchema.model_validate(raw).settings.review
    except Exception:  # a stored version was valid when saved; a later rule must not stop reviews
        try:
            return FormReview.model_validate(raw["settings"]["review"])
        except Exception:
            log.warning("the review settings of a form version cannot be read; its responses are not queued")
            return None


def entry(resp: FormResponse, cfg: FormReview, *, plain: bool = False) -> queue.NewItem:
    """The review item of a response, by its form's review settings."""
    from datacollect.nodes.review import _title
    from datacollect.nodes.wait import parse_duration

    item = form_responses.response_item(resp)
    scope = {"item": item}
    priority: Any = cfg.priority
    if not plain and isinstance(priority, str) and priority.strip().lower() not in PRIORITY_NAMES \
            and not priority.strip().isdigit():
        priority = compile_expression(priority)(scope)
    four_eyes = bool(compile_expression(cfg.four_eyes_if)(scope)) if cfg.four_eyes_if and not plain else False
    title = str(compile_template(cfg.title)(scope)) if cfg.title and not plain else _title(item)
    return queue.NewItem(
        data=item, queue=cfg.queue or f"form:{resp.form_name}", team=cfg.team, assign=cfg.assign,
        assignee=cfg.assignee, priority=queue.priority_of(priority if not plain else "normal"),
        sla_seconds=parse_duration(cfg.sla) if cfg.sla is not None else None, escalate_to=cfg.escalate_to,
        four_eyes=four_eyes, title=title[:300], subject_key=resp.recipient_email, response_id=resp.id,
        source="form", origin_key=f"form:{resp.id}")
