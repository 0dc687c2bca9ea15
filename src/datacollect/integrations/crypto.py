"""Secrets at rest: connection credentials and webhook signing secrets, encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) under the keys of ``DATACOLLECT_SECRETS_KEY``.

The setting holds one key or several, comma separated. The **first** key encrypts; every key
decrypts (a ``MultiFernet``), which is how a key is rotated without downtime::

    DATACOLLECT_SECRETS_KEY="<new key>,<old key>"   # 1. put the new key first, keep the old one
    datacollect connections rotate-key              # 2. re-encrypt every stored secret with the new key
    DATACOLLECT_SECRETS_KEY="<new key>"             # 3. drop the old key

A key is a Fernet key (``datacollect connections rotate-key --generate`` prints a fresh one);
any other text of at least 32 characters is accepted too and stretched into a key with
SHA-256. Without the setting a fixed development key is used, which the settings refuse in
production.

Example::

    box = SecretBox.from_settings(settings)
    token = box.encrypt({"password": "s3cret"})
    box.decrypt(token)  # {"password": "s3cret"}
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from datacollect.errors import DatacollectError

log = logging.getLogger("datacollect.secrets")

#: Used when DATACOLLECT_SECRETS_KEY is not set (refused in production by the settings).
DEVELOPMENT_KEY = "datacollect-development-secrets-key-change-me"


class SecretsKeyError(DatacollectError):
    """A stored secret cannot be decrypted with the configured keys (wrong or missing key)."""

    code = "secrets_key"
    http_status = 500


def _fernet(key: str) -> Fernet:
    raw = key.strip()
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return Fernet(raw.encode())
    except (ValueError, TypeError):
        pass
    if len(raw) < 32:
        raise ValueError("a secrets key must be a Fernet key or at least 32 characters long")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()))


def parse_keys(value: str | None) -> list[str]:
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def generate_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts JSON values under the first key; decrypts with any of the keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one secrets key is needed")
        self._fernets = [_fernet(k) for k in keys]
        self._multi = MultiFernet(self._fernets)

    @classmethod
    def from_settings(cls, settings: Any) -> SecretBox:
        keys = parse_keys(getattr(settings, "secrets_key", None))
        if not keys:
            keys = [DEVELOPMENT_KEY]
        return cls(keys)

    def encrypt(self, value: Any) -> str:
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return self._multi.encrypt(data).decode("ascii")

    def decrypt(self, token: str) -> Any:
        try:
            data = self._multi.decrypt(token.encode("ascii"))
        except (InvalidToken, ValueError):
            raise SecretsKeyError(
                "A stored secret cannot be decrypted with the keys in DATACOLLECT_SECRETS_KEY. The key it "
                "was encrypted with is missing: put it back (after the new key, comma separated)") from None
        return json.loads(data)

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is encrypted with the first (current) key."""
        try:
            self._fernets[0].decrypt(token.encode("ascii"))
            return True
        except InvalidToken:
            return False

    def rotate(self, token: str) -> str:
        """``token`` encrypted again under the first key (raises if no key opens it)."""
        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretsKeyError(
                "A stored secret cannot be decrypted with any key in DATACOLLECT_SECRETS_KEY; it cannot be "
                "rotated. Add the key it was encrypted with after the new one") from None


__all__ = ["DEVELOPMENT_KEY", "SecretBox", "SecretsKeyError", "generate_key", "parse_keys"]
