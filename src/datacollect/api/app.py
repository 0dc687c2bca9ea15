"""The FastAPI application: routers, the error shape, the body limit, and the web app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from datacollect import __version__
from datacollect.api import errors
from datacollect.api.errors import JSONBytes
from datacollect.api.routers import (
    auth,
    campaigns,
    connections,
    forms,
    lineage,
    misc,
    nodes,
    privacy,
    public_forms,
    responses,
    reviews,
    runs,
    webhook_subscriptions,
    webhooks,
    workflows,
)
from datacollect.config import Settings
from datacollect.observability.metrics import HttpMetrics
from datacollect.observability.tracing import trace_app
from datacollect.platform import Platform
from datacollect.security.users import ensure_first_admin

log = logging.getLogger("datacollect")
WEB_DIST = Path(__file__).resolve().parent.parent / "web_dist"


def create_app(settings: Settings | None = None, platform: Platform | None = None, *,
               scheduler: bool | None = None) -> FastAPI:
    """The app; its lifespan starts the platform (worker pool and scheduler) and stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        p = platform or Platform.create(settings)
        with p.db.sessions(bind=p.db.writer) as s, s.begin():
            ensure_first_admin(s, p.settings.admin_email, p.settings.admin_password)
        app.state.platform = p
        await p.start(scheduler=scheduler)
        try:
            yield
        finally:
            await p.stop()

    app = FastAPI(title="datacollect", version=__version__, lifespan=lifespan,
                  description="Build, run and watch data collection workflows. Errors always have the shape "
                              '{"error": {"code", "message", "details"}}.')
    errors.install(app)
    for r in (auth.router, workflows.router, runs.router, nodes.router, webhooks.router, misc.router):
        app.include_router(r)
    for r in (forms.router, campaigns.router, responses.router, public_forms.router):
        app.include_router(r)
    app.include_router(connections.router)
    app.include_router(reviews.router)
    app.include_router(webhook_subscriptions.router)
    app.include_router(lineage.router)
    app.include_router(privacy.router)
    limit = (settings or (platform.settings if platform else Settings())).max_body_bytes
    app.add_middleware(errors.BodyLimit, limit=limit, skip=public_forms.is_upload_path)
    app.add_middleware(HttpMetrics)
    trace_app(app)
    _serve_web(app)
    return app


def _serve_web(app: FastAPI) -> None:
    """The built web app at ``/`` (any unknown non-API path gets index.html: client routing)."""
    index = WEB_DIST / "index.html"
    if (WEB_DIST / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=WEB_DIST / "assets"), name="assets")

    @app.get("/", include_in_schema=False)
    async def root() -> FileResponse:
        return FileResponse(index) if index.exists() else _no_web()

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str, request: Request) -> FileResponse:
        if path.startswith(("api/", "webhook")) or not index.exists():
            from starlette.exceptions import HTTPException

            raise HTTPException(404)
        candidate = (WEB_DIST / path).resolve()
        if candidate.is_file() and WEB_DIST.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index)


def _no_web():  # type: ignore[no-untyped-def]
    return JSONBytes({"error": {"code": "not_built", "message": "The web app is not built; run `make run`",
                                     "details": None}}, status_code=404)
