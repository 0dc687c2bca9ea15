"""Roles and what each may do. Every endpoint names the permission it needs."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    builder = "builder"
    reviewer = "reviewer"
    viewer = "viewer"


READ = {"workflows:read", "runs:read", "nodes:read", "forms:read", "responses:read", "reviews:read"}
PERMISSIONS: dict[str, frozenset[str]] = {
    Role.viewer: frozenset(READ),
    Role.reviewer: frozenset(READ | {"reviews:decide", "responses:write"}),
    Role.builder: frozenset(READ | {"workflows:write", "runs:write", "forms:write", "responses:write",
                                    "connections:write", "mappings:write"}),
    Role.admin: frozenset(READ | {"workflows:write", "runs:write", "forms:write", "responses:write",
                                  "connections:write", "mappings:write", "reviews:decide", "users:manage",
                                  "audit:read", "metrics:read", "privacy:manage"}),
}
RANK = {Role.viewer: 0, Role.reviewer: 1, Role.builder: 2, Role.admin: 3}


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
