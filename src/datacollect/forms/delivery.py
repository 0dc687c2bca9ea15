"""The messages of a campaign: the invitation with the personal link, reminders, the mail to a
colleague a form was passed on to, and the escalation to the campaign's owner.

Subjects and bodies are templates in the platform's expression language, rendered per
recipient with ``recipient`` (every field of the recipient: ``{{ recipient.name }}``),
``link``, ``form`` (``title``, ``name``, ``version``, ``key``), ``deadline`` (text, or
empty), ``campaign`` (``name``, ``id``), ``reminder`` (0 for the invitation, then 1, 2...)
and ``delegated_by``. The HTML part is made from the text when no HTML template is given;
in an HTML template the recipient's fields are escaped.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from datacollect.engine.expressions import compile_template

DEFAULT_SUBJECT = "{{ form.title }}: your answers are requested"
DEFAULT_REMINDER_SUBJECT = "Reminder: {{ form.title }}"
DEFAULT_TEXT = """Hello{% if recipient.name %} {{ recipient.name }}{% endif %},

{% if delegated_by %}{{ delegated_by }} passed this questionnaire on to you.
{% elif reminder %}we have not received your answers yet.
{% endif %}Please fill in "{{ form.title }}"{% if deadline %} by {{ deadline }}{% endif %}:

{{ link }}

The link is personal: you can save a draft and come back to it, and pass the form on to a \
colleague from the form itself.
"""
CHANGES_SUBJECT = "Please review your answers: {{ form.title }}"
CHANGES_TEXT = """Hello{% if recipient.name %} {{ recipient.name }}{% endif %},

thank you for your answers to "{{ form.title }}". Before we can accept them, please have a look at \
the following:

{% for field, note in comments.items() %}- {{ field }}: {{ note }}
{% endfor %}
Your answers are kept; change what is needed and submit again:

{{ link }}
"""
ESCALATION_SUBJECT = "{{ form.title }}: {{ outstanding|length }} recipients have not answered"
ESCALATION_TEXT = """The deadline of "{{ campaign.name or form.title }}" ({{ deadline }}) has passed and \
{{ outstanding|length }} of {{ total }} recipients have not answered:

{% for r in outstanding %}- {{ r.name or '' }} <{{ r.email or r.phone or r.id }}> ({{ r.state }})
{% endfor %}"""

_URL = re.compile(r"(https?://[^\s<]+)")


def fmt_deadline(deadline: datetime | None) -> str:
    return deadline.strftime("%Y-%m-%d %H:%M UTC") if deadline else ""


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def text_to_html(text: str) -> str:
    body = html.escape(text)
    body = _URL.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', body)
    paragraphs = [p.replace("\n", "<br>\n") for p in body.split("\n\n") if p.strip()]
    return "<!doctype html><html><body>" + "".join(f"<p>{p}</p>\n" for p in paragraphs) + "</body></html>"


class Fields(dict):  # type: ignore[type-arg]
    """A recipient's fields in a template: a field the recipient lacks reads as empty text, so
    one template serves recipients with and without a company or a name."""

    def __missing__(self, key: Any) -> str:
        return ""


def render_message(settings: dict[str, Any], scope: dict[str, Any], *, reminder: int = 0
                   ) -> tuple[str, str, str]:
    """(subject, text, html) for one recipient."""
    scope = {**scope, "recipient": Fields(scope.get("recipient") or {})}
    subject_t = (settings.get("reminder_subject") if reminder else None) or settings.get("subject") or (
        DEFAULT_REMINDER_SUBJECT if reminder else DEFAULT_SUBJECT)
    if reminder and settings.get("subject") and not settings.get("reminder_subject"):
        subject_t = "Reminder: " + settings["subject"]
    text_t = settings.get("message") or DEFAULT_TEXT
    scope = {**scope, "reminder": reminder}
    subject = str(compile_template(subject_t)(scope)).strip().replace("\n", " ")
    text = str(compile_template(text_t)(scope))
    if settings.get("html"):
        html_scope = {**scope, "recipient": Fields(_escape(dict(scope.get("recipient") or {})))}
        body_html = str(compile_template(settings["html"])(html_scope))
    else:
        body_html = text_to_html(text)
    return subject, text, body_html


def render_changes(scope: dict[str, Any]) -> tuple[str, str, str]:
    scope = {**scope, "recipient": Fields(scope.get("recipient") or {}), "comments": scope.get("comments") or {}}
    subject = str(compile_template(CHANGES_SUBJECT)(scope)).strip()
    text = str(compile_template(CHANGES_TEXT)(scope))
    return subject, text, text_to_html(text)


def render_escalation(scope: dict[str, Any]) -> tuple[str, str, str]:
    subject = str(compile_template(ESCALATION_SUBJECT)(scope)).strip()
    text = str(compile_template(ESCALATION_TEXT)(scope))
    return subject, text, text_to_html(text)


def sms_text(scope: dict[str, Any], reminder: int = 0) -> str:
    what = "Reminder: please answer" if reminder else "Please answer"
    deadline = f" by {scope['deadline']}" if scope.get("deadline") else ""
    return f"{what} \"{scope['form']['title']}\"{deadline}: {scope['link']}"
