"""Public webhook endpoints: ``/webhook/{path}`` starts a run of the active workflow that
listens there; ``/webhook-waiting/{run_id}`` wakes the run's Wait nodes.

Each call is checked by its trigger's own authentication (none, header token, HMAC-SHA256
of the raw body). The item the trigger emits is the JSON body (a list gives several
items); a form-encoded body becomes an object; other bodies are kept as text in ``body``;
query parameters are added under ``query`` when there are any.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request

from datacollect.api.errors import JSONBytes, error_response
from datacollect.engine.runner import RUN_SETTLED
from datacollect.errors import InvalidInput
from datacollect.platform import Platform

router = APIRouter(tags=["webhooks"])


def _items(request: Request, body: bytes) -> list[dict[str, Any]]:
    ctype = request.headers.get("content-type", "")
    parsed: Any
    if not body:
        parsed = {}
    elif "json" in ctype or body[:1] in (b"{", b"["):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"The body is not valid JSON: {exc}") from None
    elif "application/x-www-form-urlencoded" in ctype:
        parsed = dict(parse_qsl(body.decode("utf-8", "replace")))
    else:
        parsed = {"body": body.decode("utf-8", "replace")}
    items = parsed if isinstance(parsed, list) else [parsed]
    items = [i if isinstance(i, dict) else {"value": i} for i in items] or [{}]
    if request.query_params:
        q = dict(request.query_params)
        items = [{**i, "query": q} for i in items]
    return items


async def call_webhook(path: str, request: Request) -> JSONBytes:
    """Start a run of the active workflow listening on this path (its trigger checks the call)."""
    platform: Platform = request.app.state.platform
    route = platform.webhook_route(path.strip("/"))
    if route is None:
        return error_response(404, "not_found", f"No active workflow listens on /webhook/{path}; "
                                                "check the path and that the workflow is active")
    workflow_id, node_id, method = route
    if request.method != method:
        return error_response(405, "method_not_allowed", f"/webhook/{path} takes {method}, not {request.method}")
    body = await request.body()
    trigger = platform.webhook_node(workflow_id, node_id)
    if trigger is None:
        return error_response(404, "not_found", f"No active workflow listens on /webhook/{path}")
    auth = trigger.config.authentication
    problem = None if auth.type == "none" else auth.verify({k.lower(): v for k, v in request.headers.items()}, body)
    if problem:
        return error_response(401, "unauthorized", problem)
    items = _items(request, body)
    if trigger.config.respond == "immediately":
        run_id = await platform.runner.start_run(workflow_id, items, trigger_node=node_id, mode="webhook",
                                                 require_active=True, drive=False)
        return JSONBytes({"run_id": run_id, "status": "running"}, status_code=202)
    run_id = await platform.runner.start_run(workflow_id, items, trigger_node=node_id, mode="webhook",
                                             require_active=True)
    result = platform.runner.take_result(run_id)
    if result is None:  # the run went on elsewhere (a retry backoff, a wait): wait for it
        status = await platform.runner.wait_settled(run_id, platform.settings.webhook_wait_timeout)
        if status == "completed":
            result = {"status": status, "output": platform.run_output(run_id)}
        elif status == "failed":
            result = {"status": status, "error": platform.run_error(run_id)}
        else:
            result = {"status": status}
    status = result["status"]
    if status == "completed":
        return JSONBytes(result["output"])
    if status == "failed":
        err = result.get("error") or {}
        return error_response(422, "run_failed", f"The workflow failed at '{err.get('node_id')}': {err.get('message')}",
                              {"run_id": run_id, **err})
    return JSONBytes({"run_id": run_id, "status": status or "running"}, status_code=202)


for _method in ("GET", "POST", "PUT"):
    router.add_api_route("/webhook/{path:path}", call_webhook, methods=[_method], response_class=JSONBytes,
                         operation_id=f"webhooks-call-{_method.lower()}")


@router.post("/webhook-waiting/{run_id}", operation_id="webhooks-resume", response_class=JSONBytes)
async def resume_waiting(run_id: str, request: Request) -> JSONBytes:
    platform: Platform = request.app.state.platform
    body = await request.body()
    items = _items(request, body)
    payload = items[0] if len(items) == 1 else {"items": items}
    woken = await platform.runner.deliver_event(f"wait:{run_id}", payload, keep=False)
    if not woken:
        return error_response(404, "not_found", f"No step of run '{run_id}' is waiting for a call")
    status = await platform.runner.wait_settled(run_id, 5.0)
    return JSONBytes({"run_id": run_id, "woken": woken, "status": status if status in RUN_SETTLED else "running"})
