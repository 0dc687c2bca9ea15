"""Node types: what the palette lists and the JSON Schema each config panel is drawn from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from datacollect.api.deps import PlatformDep, require
from datacollect.api.schemas import NodeTypeRead, Page
from datacollect.errors import NotFound

router = APIRouter(prefix="/api/nodes", tags=["nodes"], dependencies=[require("nodes:read")])


@router.get("", response_model=Page[NodeTypeRead], operation_id="nodes-list")
def list_nodes(platform: PlatformDep) -> Page[NodeTypeRead]:
    specs = [NodeTypeRead(**cls.spec()) for cls in platform.registry.latest()]
    return Page(data=specs, count=len(specs))


@router.get("/{node_type}/config", operation_id="nodes-config")
def node_config(node_type: str, platform: PlatformDep, version: int | None = None) -> dict[str, Any]:
    cls = platform.registry.get(node_type, version)
    if cls is None:
        raise NotFound(f"There is no node type '{node_type}'; GET /api/nodes lists them")
    return cls.config_schema()
