"""Answers of fields marked ``sensitive``, encrypted at rest (DESIGN §10).

A form field with ``"sensitive": true`` (an IBAN, a revenue figure) is stored encrypted
wherever answers are kept: the response (``form_responses.answers``), its trail
(``response_changes.before/after``) and the recipient's draft and prefill
(``form_requests.draft/prefill``). Only the sensitive values are encrypted, each replaced by a
marker that holds a Fernet token made with the keys of ``DATACOLLECT_SECRETS_KEY`` (the same
keys and rotation as connections' secrets, :mod:`datacollect.integrations.crypto`)::

    {"company_name": "Acme", "annual_revenue": {"$sealed": "gAAAAAB..."}}

The contract, in one place:

* **Writing.** Before each flush, :func:`_seal_on_flush` wraps the answers of those columns in
  :class:`Sensitive` (a dict that knows its sensitive paths, read from the form version);
  the column type :class:`SealedJSON` encrypts those paths as it writes the row. The object
  in memory keeps the clear values, so code that just wrote a response reads it as before.
* **Reading.** :class:`SealedJSON` decrypts every marker as it reads the row: services see
  clear answers, and the API masks them for callers who may not see them (as before). Rows
  written before this module existed hold clear values and read as they are;
  ``datacollect connections rotate-key`` encrypts them (:func:`reseal`).

Example::

    sealed = seal({"iban": "DE89...", "name": "Jana"}, ["iban"], box)
    unseal(sealed, box)  # {"iban": "DE89...", "name": "Jana"}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from datacollect.db.types import JSONText
from datacollect.integrations.crypto import DEVELOPMENT_KEY, SecretBox

MARK = "$sealed"
_box: SecretBox | None = None


def use_box(box: SecretBox) -> None:
    """The keys answers are sealed with in this process (the platform sets them from settings)."""
    global _box
    _box = box


def box() -> SecretBox:
    global _box
    if _box is None:
        from datacollect.config import get_settings

        try:
            _box = SecretBox.from_settings(get_settings())
        except Exception:  # settings that do not load here (a bare script): the development key
            _box = SecretBox([DEVELOPMENT_KEY])
    return _box


class Sensitive(dict[str, Any]):
    """Answers whose ``paths`` (``"iban"``, ``"sites[*].iban"``) are sealed when written."""

    def __init__(self, answers: dict[str, Any], paths: list[str]) -> None:
        super().__init__(answers)
        self.paths = list(paths)


def _sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(MARK), str)


def seal(answers: dict[str, Any], paths: list[str], with_box: SecretBox | None = None) -> dict[str, Any]:
    """A copy of ``answers`` with the values at ``paths`` encrypted (values already sealed, and
    empty ones, are left as they are)."""
    b = with_box or box()
    out = dict(answers)

    def one(v: Any) -> Any:
        return v if v is None or _sealed(v) else {MARK: b.encrypt(v)}

    for path in paths:
        head, _, col = path.partition("[*].")
        if head not in out:
            continue
        if not col:
            out[head] = one(out[head])
        elif isinstance(out[head], list):
            out[head] = [{**r, col: one(r[col])} if isinstance(r, dict) and col in r else r for r in out[head]]
    return out


def unseal(value: Any, with_box: SecretBox | None = None, _depth: int = 0) -> Any:
    """``value`` with every sealed marker decrypted (dicts and lists, a few levels deep)."""
    if _sealed(value):
        return (with_box or box()).decrypt(value[MARK])
    if _depth > 4:
        return value
    if isinstance(value, dict):
        return {k: unseal(v, with_box, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [unseal(v, with_box, _depth + 1) for v in value]
    return value


def _has_mark(value: Any, depth: int = 0) -> bool:
    if isinstance(value, dict):
        return MARK in value or (depth < 4 and any(_has_mark(v, depth + 1) for v in value.values()))
    if isinstance(value, list):
        return depth < 4 and any(_has_mark(v, depth + 1) for v in value)
    return False


class SealedJSON(JSONText):
    """JSONText whose :class:`Sensitive` values are written with their sensitive paths sealed,
    and whose sealed values are decrypted when read. Same database type as JSONText."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect):  # type: ignore[no-untyped-def]
        if isinstance(value, Sensitive):
            value = seal(value, value.paths) if value.paths else dict(value)
        return super().process_bind_param(value, dialect)

    def process_result_value(self, value: Any, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if isinstance(value, str):  # SQLite: the text tells whether anything is sealed
            if f'"{MARK}"' not in value:
                return super().process_result_value(value, dialect)
            value = super().process_result_value(value, dialect)
        elif not _has_mark(value):
            return value
        return unseal(value)


# -- which answers are sensitive ------------------------------------------------------------
def paths_of(session: Session, form_key: str | None) -> list[str]:
    """The sensitive paths of a form version (an unknown form has none)."""
    if not form_key:
        return []
    from datacollect.errors import NotFound
    from datacollect.forms.catalog import find_version, schema_of

    try:
        with session.no_autoflush:
            return schema_of(find_version(session, form_key)).sensitive_paths()
    except NotFound:
        return []


def mark(answers: Any, paths: list[str]) -> Any:
    """``answers`` wrapped so that its sensitive paths are sealed when written."""
    if not paths or not isinstance(answers, dict) or isinstance(answers, Sensitive) and answers.paths == paths:
        return answers
    return Sensitive(answers, paths)


def _changed(obj: Any, attr: str, new: bool) -> bool:
    if new:
        return getattr(obj, attr) is not None
    from sqlalchemy import inspect

    return bool(inspect(obj).attrs[attr].history.added)


@event.listens_for(Session, "before_flush")
def _seal_on_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    from datacollect.db.forms_models import FormRequest, FormResponse, ResponseChange

    if not session.new and not session.dirty:
        return
    for new, objs in ((True, session.new), (False, session.dirty)):
        for obj in objs:
            if isinstance(obj, FormResponse):
                if _changed(obj, "answers", new):
                    obj.answers = mark(obj.answers, paths_of(session, obj.form_key))
            elif isinstance(obj, ResponseChange):
                if new and (isinstance(obj.before, dict) or isinstance(obj.after, dict)):
                    with session.no_autoflush:
                        resp = session.get(FormResponse, obj.response_id)
                    paths = paths_of(session, resp.form_key if resp is not None else None)
                    obj.before, obj.after = mark(obj.before, paths), mark(obj.after, paths)
            elif isinstance(obj, FormRequest):
                for attr in ("draft", "prefill"):
                    if _changed(obj, attr, new):
                        setattr(obj, attr, mark(getattr(obj, attr), paths_of(session, obj.form_key)))


# -- key rotation and rows written in clear -------------------------------------------------
def reseal(session: Session, with_box: SecretBox) -> int:
    """Write every stored answer of a form with sensitive fields again, sealed under the first
    key of ``with_box`` (older keys' tokens and values stored in clear alike); answers how many
    rows changed. ``with_box`` must hold every key in use."""
    import orjson
    from sqlalchemy import cast
    from sqlalchemy.types import Text

    from datacollect.db.forms_models import FormRequest, FormResponse, FormVersion, ResponseChange
    from datacollect.forms.catalog import schema_of

    use_box(with_box)
    keys = {}
    for row in session.scalars(select(FormVersion)):
        paths = schema_of(row).sensitive_paths()
        if paths:
            keys[row.key] = paths
    if not keys:
        return 0
    resp, req, chg = FormResponse.__table__, FormRequest.__table__, ResponseChange.__table__
    sources = [
        (resp, ("answers",), select(resp.c.id, resp.c.form_key, cast(resp.c.answers, Text))
         .where(resp.c.form_key.in_(list(keys)))),
        (req, ("draft", "prefill"), select(req.c.id, req.c.form_key, cast(req.c.draft, Text),
                                           cast(req.c.prefill, Text)).where(req.c.form_key.in_(list(keys)))),
        (chg, ("before", "after"), select(chg.c.id, resp.c.form_key, cast(chg.c.before, Text),
                                          cast(chg.c.after, Text))
         .join(resp, resp.c.id == chg.c.response_id).where(resp.c.form_key.in_(list(keys)))),
    ]
    n = 0
    for table, cols, q in sources:
        for rid, fkey, *texts in session.execute(q).all():
            paths = keys[fkey]
            raws = [None if t is None else orjson.loads(t) for t in texts]
            if all(_is_current(r, paths, with_box) for r in raws):
                continue
            session.execute(update(table).where(table.c.id == rid).values(
                {c: mark(unseal(r, with_box), paths) for c, r in zip(cols, raws, strict=True)}))
            n += 1
    return n


def _is_current(raw: Any, paths: list[str], with_box: SecretBox) -> bool:
    """Whether a stored value has every sensitive value sealed under the first key."""
    if not isinstance(raw, dict):
        return True
    for path in paths:
        head, _, col = path.partition("[*].")
        cells = [raw.get(head)] if not col else [r.get(col) for r in raw.get(head) or [] if isinstance(r, dict)]
        for v in cells:
            if v is None:
                continue
            if not _sealed(v) or not with_box.is_current(v[MARK]):
                return False
    return True


__all__ = ["MARK", "SealedJSON", "Sensitive", "box", "mark", "paths_of", "reseal", "seal", "unseal", "use_box"]
