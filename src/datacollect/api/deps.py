"""Dependencies every router uses: the platform, database sessions, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from datacollect.db.models import User
from datacollect.errors import PermissionDenied, Unauthorized
from datacollect.platform import Platform
from datacollect.security.roles import allowed
from datacollect.security.tokens import read_access_token
from datacollect.security.users import find_api_key


def get_platform(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


PlatformDep = Annotated[Platform, Depends(get_platform)]


def _read_session(request: Request) -> Iterator[Session]:
    platform: Platform = request.app.state.platform
    with platform.db.sessions() as s:
        yield s


SessionDep = Annotated[Session, Depends(_read_session)]

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


@dataclass
class Principal:
    user_id: str
    email: str
    role: str
    via: str  # "token" or "api_key:<id>"

    @property
    def actor(self) -> str:
        return self.email if self.via == "token" else f"{self.email} ({self.via})"

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)


def current_principal(request: Request, token: Annotated[str | None, Depends(oauth2)],
                      x_api_key: Annotated[str | None, Header()] = None) -> Principal:
    platform: Platform = request.app.state.platform
    if x_api_key:
        with platform.db.write() as s:
            found = find_api_key(s, x_api_key)
            if found is None:
                raise _unauthorized("The API key is not valid or was revoked")
            key, user = found
            return Principal(user.id, user.email, key.role, f"api_key:{key.prefix}")
    with platform.db.sessions() as s:
        if token:
            claims = read_access_token(token, platform.settings.secret_key)
            if claims is None:
                raise _unauthorized("The access token is not valid or has expired; log in again")
            user = s.get(User, claims["sub"])
            if user is None or not user.active:
                raise _unauthorized("This user no longer exists or was deactivated")
            return Principal(user.id, user.email, user.role, "token")
    raise _unauthorized("Log in first: send 'Authorization: Bearer <token>' from POST /api/auth/token, "
                        "or an 'X-API-Key' header")


def _unauthorized(message: str) -> Unauthorized:
    return Unauthorized(message)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(permission: str):  # type: ignore[no-untyped-def]
    def check(p: CurrentUser) -> Principal:
        if not p.can(permission):
            raise PermissionDenied(f"Your role ({p.role}) may not do this (it needs '{permission}')")
        return p

    return Depends(check)
