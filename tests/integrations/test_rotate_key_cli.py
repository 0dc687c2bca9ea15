"""``datacollect connections rotate-key``: every stored secret (connections, webhook
subscriptions) encrypted again under the first key, after which the old key can go."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from datacollect.cli import app
from datacollect.config import get_settings
from datacollect.db.migrate import upgrade
from datacollect.db.session import Database
from datacollect.integrations import connections as conn_svc
from datacollect.integrations import webhooks_out
from datacollect.integrations.crypto import SecretBox, generate_key

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATACOLLECT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATACOLLECT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATACOLLECT_SECRETS_KEY", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_generate_prints_a_fresh_key() -> None:
    r = runner.invoke(app, ["connections", "rotate-key", "--generate"])
    assert r.exit_code == 0, r.output
    Fernet(r.output.strip().encode())  # a valid key


def test_rotating_moves_every_secret_to_the_new_key(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = generate_key(), generate_key()
    url = f"sqlite:///{(data_dir / 'datacollect.db').resolve()}"
    upgrade(url)
    db = Database(url)
    with db.write() as s:
        conn_svc.create_connection(s, SecretBox([old]), {"id": "erp", "name": "erp", "kind": "database",
                                                         "config": {"url": "postgresql://a:pw-1@h/db"}}, "test")
        webhooks_out.create_subscription(s, SecretBox([old]), {"url": "https://x.example/in", "events": ["*"],
                                                               "secret": "a-signing-secret-of-length"}, "test")
    monkeypatch.setenv("DATACOLLECT_SECRETS_KEY", f"{new},{old}")
    get_settings.cache_clear()
    r = runner.invoke(app, ["connections", "rotate-key"])
    assert r.exit_code == 0, r.output
    assert "2 secrets encrypted again" in r.output and "can now be removed" in r.output
    with db.session() as s:
        assert conn_svc.resolve(s, SecretBox([new]), "erp").values["url"] == "postgresql://a:pw-1@h/db"
    r = runner.invoke(app, ["connections", "rotate-key"])
    assert "0 secrets" in r.output
    db.dispose()


def test_rotating_without_a_key_says_what_to_set() -> None:
    r = runner.invoke(app, ["connections", "rotate-key"])
    assert r.exit_code == 1 and "DATACOLLECT_SECRETS_KEY is not set" in r.output
