"""Users and API keys: create, authenticate, list, change, revoke. Every change is audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacollect.db.models import ApiKey, User
from datacollect.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from datacollect.security import audit
from datacollect.security.passwords import check_strength, hash_password, verify_password
from datacollect.security.roles import RANK, Role
from datacollect.security.tokens import hash_api_key, new_api_key


def _now() -> datetime:
    return datetime.now(UTC)


def _role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        raise InvalidInput(f"'{role}' is not a role; roles are admin, builder, reviewer, viewer") from None


def create_user(session: Session, email: str, password: str, role: str, actor: str, name: str = "") -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"'{email}' is not an email address")
    problem = check_strength(password)
    if problem:
        raise InvalidInput(problem)
    if session.scalar(select(User).where(User.email == email)):
        raise Conflict(f"A user with the email {email} exists already")
    user = User(id=uuid.uuid4().hex, email=email, name=name or email.split("@")[0], role=_role(role),
                password_hash=hash_password(password), active=True, created_at=_now())
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, after={"email": email, "role": user.role})
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
    user.last_login_at = _now()
    return user


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User '{user_id}' does not exist")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.created_at)))


def update_user(session: Session, user_id: str, actor: str, *, role: str | None = None, active: bool | None = None,
                name: str | None = None, password: str | None = None) -> User:
    user = get_user(session, user_id)
    before = {"role": user.role, "active": user.active, "name": user.name}
    if role is not None:
        new = _role(role)
        if user.role == Role.admin and new != Role.admin and _admins(session) <= 1:
            raise Conflict("This is the last admin; make another user admin first")
        user.role = new
    if active is not None:
        if not active and user.role == Role.admin and _admins(session) <= 1:
            raise Conflict("This is the last admin; it cannot be deactivated")
        user.active = active
    if name is not None:
        user.name = name
    if password is not None:
        problem = check_strength(password)
        if problem:
            raise InvalidInput(problem)
        user.password_hash = hash_password(password)
    audit.record(session, actor, "user.update", "user", user.id, before=before,
                 after={"role": user.role, "active": user.active, "name": user.name,
                        **({"password": "changed"} if password else {})})
    return user


def _admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == Role.admin, User.active.is_(True))) or 0


def create_api_key(session: Session, user: User, name: str, role: str | None, actor: str) -> tuple[ApiKey, str]:
    r = _role(role or user.role)
    if RANK[Role(r)] > RANK[Role(user.role)]:
        raise PermissionDenied(f"An API key cannot have more rights than its owner ({user.role})")
    key, prefix, digest = new_api_key()
    row = ApiKey(id=uuid.uuid4().hex, name=name.strip() or "API key", prefix=prefix, key_hash=digest,
                 user_id=user.id, role=r, scopes=[], created_at=_now())
    session.add(row)
    session.flush()
    audit.record(session, actor, "api_key.create", "api_key", row.id, after={"name": row.name, "role": r, "prefix": prefix})
    return row, key


def find_api_key(session: Session, key: str) -> tuple[ApiKey, User] | None:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = _now()
    return row, user


def list_api_keys(session: Session, user_id: str | None = None) -> list[ApiKey]:
    q = select(ApiKey).order_by(ApiKey.created_at.desc())
    if user_id:
        q = q.where(ApiKey.user_id == user_id)
    return list(session.scalars(q))


def user_emails(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {uid: email for uid, email in session.execute(select(User.id, User.email).where(User.id.in_(ids)))}


def revoke_api_key(session: Session, key_id: str, actor: str, owner_id: str | None = None) -> None:
    row = session.get(ApiKey, key_id)
    if row is None or (owner_id and row.user_id != owner_id):
        raise NotFound(f"API key '{key_id}' does not exist")
    row.revoked_at = _now()
    audit.record(session, actor, "api_key.revoke", "api_key", row.id, before={"name": row.name})


def ensure_first_admin(session: Session, email: str | None, password: str | None) -> User | None:
    """At first start, create the admin named by DATACOLLECT_ADMIN_EMAIL/PASSWORD if no user exists."""
    if not email or not password:
        return None
    if session.scalar(select(func.count()).select_from(User)):
        return None
    return create_user(session, email, password, Role.admin, actor="system")
