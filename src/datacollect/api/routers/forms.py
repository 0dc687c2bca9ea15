"""Forms: save a version (every problem at once), list, read, versions, JSON Schema, the
bulk-import templates, and sending a form to recipients (a campaign)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response

from datacollect.api.deps import PlatformDep, Principal, SessionDep, require
from datacollect.api.forms_schemas import CampaignCreated, FormRead, FormSummary, FormVersionRead, SendCreate
from datacollect.api.routers.campaigns import campaign_read
from datacollect.api.schemas import Page
from datacollect.db.forms_models import FormVersion
from datacollect.db.models import DataSource
from datacollect.errors import InvalidInput, NotFound
from datacollect.forms import bulk, catalog
from datacollect.forms.jsonschema import to_json_schema
from datacollect.forms.schema import FormSchemaError

router = APIRouter(prefix="/api/forms", tags=["forms"])

FormBody = Body(description="A form schema (DESIGN §7): name, version, title, pages or fields, rules, settings.",
                openapi_examples={"minimal": {"value": {
                    "name": "supplier_contact", "version": 1, "title": "Supplier contact",
                    "fields": [{"id": "email", "type": "email", "label": "Email", "required": True}]}}})


def _read(row: FormVersion) -> FormRead:
    return FormRead(key=row.key, name=row.name, version=row.version, title=row.title, created_at=row.created_at,
                    created_by=row.created_by, schema=row.schema)


@router.post("", response_model=FormRead, status_code=201, operation_id="forms-create",
             responses={200: {"description": "This exact version was saved before"},
                        409: {"description": "The version exists with another schema"},
                        422: {"description": "The schema has problems (all of them in details)"}})
def create_form(platform: PlatformDep, response: Response, document: Any = FormBody,
                p: Principal = require("forms:write")) -> FormRead:
    try:
        with platform.db.write() as session:
            row, created = catalog.save_form(session, document, p.actor)
            response.status_code = 201 if created else 200
            return _read(row)
    except FormSchemaError as exc:
        exc.http_status = 422  # type: ignore[attr-defined]
        raise


@router.get("", response_model=Page[FormSummary], operation_id="forms-list", dependencies=[require("forms:read")])
def list_forms(session: SessionDep, search: str | None = None, page: int = Query(1, ge=1),
               page_size: int = Query(50, ge=1, le=500)) -> Page[FormSummary]:
    rows, total = catalog.list_forms(session, search, page, page_size)
    return Page(data=[FormSummary(name=f.name, title=f.title, key=f.current_key, versions=f.versions,
                                  created_at=f.created_at, updated_at=f.updated_at) for f in rows], count=total)


@router.get("/{form_id}", response_model=FormRead, operation_id="forms-read", dependencies=[require("forms:read")])
def read_form(form_id: str, session: SessionDep) -> FormRead:
    """A version by key (supplier_emissions_v2), or the newest version of a name."""
    return _read(catalog.find_version(session, form_id))


@router.get("/{form_id}/versions", response_model=Page[FormVersionRead], operation_id="forms-versions",
            dependencies=[require("forms:read")])
def list_versions(form_id: str, session: SessionDep) -> Page[FormVersionRead]:
    rows = catalog.list_versions(session, form_id)
    return Page(data=[FormVersionRead(key=r.key, name=r.name, version=r.version, title=r.title,
                                      created_at=r.created_at, created_by=r.created_by) for r in rows],
                count=len(rows))


@router.get("/{form_id}/json-schema", operation_id="forms-json-schema", dependencies=[require("forms:read")])
def json_schema(form_id: str, session: SessionDep) -> Response:
    import orjson

    _, schema = catalog.schema_for(session, form_id)
    return Response(orjson.dumps(to_json_schema(schema)), media_type="application/schema+json")


@router.get("/{form_id}/template.csv", operation_id="forms-template-csv", dependencies=[require("forms:read")])
def template_csv(form_id: str, session: SessionDep) -> Response:
    row, schema = catalog.schema_for(session, form_id)
    return Response(bulk.csv_template(schema), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{row.key}.csv"'})


@router.get("/{form_id}/template.xlsx", operation_id="forms-template-xlsx", dependencies=[require("forms:read")])
def template_xlsx(form_id: str, session: SessionDep) -> Response:
    row, schema = catalog.schema_for(session, form_id)
    return Response(bulk.xlsx_template(schema),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{row.key}.xlsx"'})


@router.post("/{form_id}/send", response_model=CampaignCreated, status_code=201, operation_id="forms-send")
def send_form(form_id: str, body: SendCreate, platform: PlatformDep,
              p: Principal = require("forms:write")) -> CampaignCreated:
    """Send the form to recipients (a list or a data source): one personal link each."""
    recipients: list[Any]
    if body.data_source:
        with platform.db.session() as s:
            ds = s.get(DataSource, body.data_source)
            if ds is None:
                raise NotFound(f"There is no data source named '{body.data_source}'")
            recipients = list(ds.rows)
        if body.recipients:
            raise InvalidInput("Give recipients or a data source, not both")
    else:
        recipients = list(body.recipients or [])
    prefill = None
    if body.prefill:
        from datacollect.engine.expressions import compile_template

        render = compile_template(body.prefill)
        prefill = []
        for r in recipients:
            rec = r if isinstance(r, dict) else {"email": r}
            prefill.append(render({"recipient": rec, "item": rec}))
    settings = {k: v for k, v in (("subject", body.subject), ("message", body.message), ("html", body.html)) if v}
    summary, links = platform.services.forms.create_campaign(
        form_id, recipients, actor=p.actor, delivery=body.delivery, deadline=body.deadline,
        reminder_schedule=body.reminder_schedule, escalation_owner=body.escalation_owner, prefill=prefill,
        prefill_last_response=body.prefill_last_response, name=body.name, settings=settings)
    with platform.db.session() as s:
        read = campaign_read(s, summary["id"])
    return CampaignCreated(**read.model_dump(), links=links)
