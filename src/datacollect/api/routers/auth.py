"""Login, the signed-in user, users (admins), and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from datacollect.api.deps import CurrentUser, PlatformDep, Principal, SessionDep, require
from datacollect.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    Page,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from datacollect.errors import Unauthorized
from datacollect.security import users as svc
from datacollect.security.tokens import issue_access_token

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token", response_model=TokenRead, operation_id="auth-token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()],
          platform: PlatformDep) -> TokenRead:
    with platform.db.write() as session:
        user = svc.authenticate(session, form.username, form.password)
        if user is None:
            raise Unauthorized("The email or the password is wrong")
        minutes = platform.settings.access_token_minutes
        token = issue_access_token(user.id, user.role, platform.settings.secret_key, minutes)
        return TokenRead(access_token=token, expires_in=minutes * 60, user=UserRead.model_validate(user))


@router.get("/me", response_model=UserRead, operation_id="auth-me")
def me(p: CurrentUser, session: SessionDep) -> UserRead:
    user = svc.get_user(session, p.user_id)
    return UserRead.model_validate(user).model_copy(update={"role": p.role})


@router.get("/users", response_model=Page[UserRead], operation_id="users-list",
            dependencies=[require("users:manage")])
def list_users(session: SessionDep) -> Page[UserRead]:
    users = svc.list_users(session)
    return Page(data=[UserRead.model_validate(u) for u in users], count=len(users))


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED, operation_id="users-create")
def create_user(platform: PlatformDep, body: UserCreate, p: Principal = require("users:manage")) -> UserRead:
    with platform.db.write() as session:
        return UserRead.model_validate(svc.create_user(session, body.email, body.password, body.role, p.actor, body.name))


@router.patch("/users/{user_id}", response_model=UserRead, operation_id="users-update")
def update_user(platform: PlatformDep, user_id: str, body: UserUpdate,
                p: Principal = require("users:manage")) -> UserRead:
    with platform.db.write() as session:
        user = svc.update_user(session, user_id, p.actor, **body.model_dump(exclude_unset=True))
        return UserRead.model_validate(user)


@router.get("/api-keys", response_model=Page[ApiKeyRead], operation_id="apikeys-list")
def list_keys(session: SessionDep, p: CurrentUser) -> Page[ApiKeyRead]:
    keys = svc.list_api_keys(session, None if p.can("users:manage") else p.user_id)
    owners = svc.user_emails(session, {k.user_id for k in keys})
    return Page(data=[ApiKeyRead.model_validate(k).model_copy(update={"owner": owners.get(k.user_id)}) for k in keys],
                count=len(keys))


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED,
             operation_id="apikeys-create")
def create_key(platform: PlatformDep, body: ApiKeyCreate, p: CurrentUser) -> ApiKeyCreated:
    with platform.db.write() as session:
        if p.via != "token":
            raise Unauthorized("API keys are made by a signed-in user, not with another API key")
        user = svc.get_user(session, p.user_id)
        row, key = svc.create_api_key(session, user, body.name, body.role, p.actor)
        return ApiKeyCreated(**ApiKeyRead.model_validate(row).model_dump(exclude={"owner"}), owner=user.email, key=key)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="apikeys-revoke")
def revoke_key(platform: PlatformDep, key_id: str, p: CurrentUser) -> None:
    with platform.db.write() as session:
        svc.revoke_api_key(session, key_id, p.actor, None if p.can("users:manage") else p.user_id)
