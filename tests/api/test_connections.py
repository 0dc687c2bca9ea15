"""Connections through the API: typed, encrypted at rest, never shown, tested stage by stage
(DNS, connect, TLS, auth, permission, not found) against a fake SAP that speaks OData."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from datacollect.integrations.crypto import SecretBox, generate_key
from tests.api.conftest import Api
from tests.conftest import free_port
from tests.integrations.conftest import sap, self_signed  # noqa: F401  (fixtures)
from tests.integrations.fake_sap import ENTITY, PASSWORD, SERVICE, USER, FakeSap
from tests.integrations.servers import serve


def sap_config(url: str, **kw: Any) -> dict[str, Any]:
    return {"base_url": url, "service_path": SERVICE, "username": USER, "password": PASSWORD,
            "entity_set": ENTITY, **kw}


async def create(api: Api, config: dict[str, Any], id_: str = "sap-prod", kind: str = "sap") -> dict[str, Any]:
    r = await api.post("/api/connections", json={"id": id_, "name": "SAP production", "kind": kind,
                                                 "config": config})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_connection_keeps_its_secret_encrypted_and_never_shows_it(api: Api, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    made = await create(api, sap_config("https://s4.example.com"))
    assert made["secrets"] == {"password": True}
    assert PASSWORD not in str(made) and "password" not in made["config"]
    assert made["config"]["service_path"] == SERVICE
    for r in (await api.get("/api/connections"), await api.get("/api/connections/sap-prod")):
        assert r.status_code == 200 and PASSWORD not in r.text
    with api.platform.db.engine.connect() as c:
        row = c.execute(text("SELECT config, secret FROM connections WHERE id = 'sap-prod'")).one()
        audit = c.execute(text("SELECT before, after FROM audit_log WHERE entity_type = 'connection'")).all()
    assert PASSWORD not in row.config and PASSWORD not in row.secret
    assert row.secret.startswith("gAAAAA")  # a Fernet token
    assert audit and all(PASSWORD not in str(a) for a in audit)
    assert PASSWORD not in caplog.text


async def test_a_change_without_the_secret_keeps_it_and_a_new_secret_replaces_it(api: Api, sap) -> None:  # noqa: F811
    fake, server = sap
    await create(api, sap_config(server.url))
    r = await api.patch("/api/connections/sap-prod", json={"name": "SAP (renamed)", "config": {"sap_client": "100"}})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "SAP (renamed)" and r.json()["config"]["sap_client"] == "100"
    assert (await api.post("/api/connections/sap-prod/test")).json()["ok"] is True
    await api.patch("/api/connections/sap-prod", json={"config": {"password": "wrong-one"}})
    answer = (await api.post("/api/connections/sap-prod/test")).json()
    assert answer["ok"] is False and answer["stage"] == "auth"
    assert "wrong-one" not in str(answer)


async def test_the_test_says_ok_after_login_and_token_fetch(api: Api, sap) -> None:  # noqa: F811
    fake, server = sap
    await create(api, sap_config(server.url))
    r = await api.post("/api/connections/sap-prod/test")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["ok"] is True and answer["stage"] == "ok", answer
    assert "dns" in answer["checked"] and "auth" in answer["checked"]
    assert ("GET", SERVICE + "/") in fake.requests
    read = (await api.get("/api/connections/sap-prod")).json()
    assert read["last_test"]["ok"] is True


@pytest.mark.parametrize("case, stage", [
    ("password", "auth"), ("role", "permission"), ("path", "not_found"), ("port", "connect"), ("dns", "dns"),
])
async def test_the_test_names_the_stage_that_failed(api: Api, sap, case: str, stage: str) -> None:  # noqa: F811
    fake, server = sap
    config = sap_config(server.url)
    if case == "password":
        config["password"] = "not-the-password"
    elif case == "role":
        fake.forbidden_users.add("INTERN")
        config["username"] = "INTERN"
    elif case == "path":
        config["service_path"] = "/sap/opu/odata/sap/ZNOPE_SRV"
    elif case == "port":
        config["base_url"] = f"http://127.0.0.1:{free_port()}"
    elif case == "dns":
        config["base_url"] = "https://s4.does-not-exist.invalid"
    await create(api, config)
    answer = (await api.post("/api/connections/sap-prod/test")).json()
    assert answer["ok"] is False
    assert answer["stage"] == stage, answer
    assert answer["message"]
    assert "not-the-password" not in answer["message"]


async def test_an_untrusted_certificate_is_a_tls_failure_and_trusting_it_works(api: Api, self_signed) -> None:  # noqa: F811
    fake = FakeSap()
    with serve(fake, ssl={"ssl_certfile": self_signed["certfile"], "ssl_keyfile": self_signed["keyfile"]}) as server:
        await create(api, sap_config(server.url))
        answer = (await api.post("/api/connections/sap-prod/test")).json()
        assert answer["ok"] is False and answer["stage"] == "tls", answer
        assert "certificate" in answer["message"]
        await api.patch("/api/connections/sap-prod", json={"config": {"ca_cert": self_signed["pem"]}})
        answer = (await api.post("/api/connections/sap-prod/test")).json()
        assert answer["ok"] is True, answer


async def test_a_bad_connection_is_refused_with_every_field_named(api: Api) -> None:
    r = await api.post("/api/connections", json={"name": "x", "kind": "sap", "config": {"base_url": "ftp://x"}})
    assert r.status_code == 400
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"base_url", "service_path", "username", "password"} <= fields
    r = await api.post("/api/connections", json={"name": "x", "kind": "telex", "config": {}})
    assert r.status_code == 400 and "kind" in r.json()["error"]["message"]


async def test_only_builders_and_admins_change_connections_and_everyone_reads_them(api: Api) -> None:
    body = {"name": "Mail", "kind": "smtp", "config": {"host": "mail.example.com", "password": "pw"}}
    assert (await api.post("/api/connections", role="viewer", json=body)).status_code == 403
    assert (await api.post("/api/connections", role="reviewer", json=body)).status_code == 403
    assert (await api.post("/api/connections", role="builder", json=body)).status_code == 201
    assert (await api.get("/api/connections", role="viewer")).json()["count"] == 1
    assert (await api.post("/api/connections/mail/test", role="viewer")).status_code == 403
    assert (await api.delete("/api/connections/mail", role="viewer")).status_code == 403
    assert (await api.delete("/api/connections/mail", role="builder")).status_code == 204
    assert (await api.get("/api/connections/mail")).status_code == 404


async def test_the_kinds_are_described_with_their_secret_fields_write_only(api: Api) -> None:
    kinds = {k["kind"]: k for k in (await api.get("/api/connections/kinds")).json()}
    assert set(kinds) == {"smtp", "imap", "http", "database", "s3", "sap", "netsuite", "oracle"}
    assert kinds["netsuite"]["secrets"] == ["consumer_secret", "token_secret"]
    assert kinds["sap"]["config_schema"]["properties"]["password"]["writeOnly"] is True


async def test_a_database_connection_shows_its_url_without_the_password_and_serves_database_write(api: Api,
                                                                                                  tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    made = await create(api, {"url": url}, id_="erp-db", kind="database")
    assert made["config"]["display_url"] == url
    assert (await api.post("/api/connections/erp-db/test")).json()["ok"] is True
    made = await create(api, {"url": "postgresql://app:Very-Secret-1@127.0.0.1:1/erp"}, id_="pg", kind="database")
    assert "Very-Secret-1" not in str(made) and "***" in made["config"]["display_url"]
    answer = (await api.post("/api/connections/pg/test")).json()
    assert answer["stage"] == "connect" and "Very-Secret-1" not in answer["message"]
    resolve = api.platform.services.extra["connections"]
    assert resolve("erp-db") == url


def test_a_rotated_key_reencrypts_every_secret(tmp_path) -> None:
    from datacollect.db.migrate import upgrade
    from datacollect.db.session import Database
    from datacollect.integrations import connections as svc

    old, new = generate_key(), generate_key()
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    db = Database(url)
    with db.write() as s:
        svc.create_connection(s, SecretBox([old]), {"id": "m", "name": "m", "kind": "smtp",
                                                    "config": {"host": "h", "password": "pw-1234"}}, "test")
    with db.write() as s:
        assert svc.rotate_secrets(s, SecretBox([new, old])) == 1
    with db.write() as s:
        assert svc.rotate_secrets(s, SecretBox([new, old])) == 0  # already under the new key
        assert svc.resolve(s, SecretBox([new]), "m").values["password"] == "pw-1234"
        with pytest.raises(Exception, match="cannot be decrypted"):
            svc.resolve(s, SecretBox([old]), "m")
    db.dispose()


def test_production_refuses_to_start_without_a_secrets_key(tmp_path) -> None:
    from pydantic import ValidationError

    from datacollect.config import Settings

    secret = "x" * 40
    with pytest.raises(ValidationError, match="DATACOLLECT_SECRETS_KEY"):
        Settings(env="production", secret_key=secret, data_dir=tmp_path)
    Settings(env="production", secret_key=secret, data_dir=tmp_path, secrets_key=generate_key())


def test_a_secret_box_with_a_passphrase_works_and_a_short_one_is_refused() -> None:
    box = SecretBox(["a passphrase that is long enough to be a key"])
    assert box.decrypt(box.encrypt({"a": 1})) == {"a": 1}
    with pytest.raises(ValueError):
        SecretBox(["short"])



@pytest.mark.parametrize("kind", ["netsuite", "oracle"])
async def test_netsuite_and_oracle_connections_are_tested_with_their_own_auth(api: Api, kind: str) -> None:
    from tests.integrations import fake_netsuite as ns
    from tests.integrations import fake_oracle as orc

    fake: Any = ns.FakeNetSuite() if kind == "netsuite" else orc.FakeOracle()
    with serve(fake) as server:
        if kind == "netsuite":
            config = {"account_id": ns.ACCOUNT, "base_url": server.url, "consumer_key": ns.CONSUMER_KEY,
                      "consumer_secret": ns.CONSUMER_SECRET, "token_id": ns.TOKEN_ID, "token_secret": ns.TOKEN_SECRET,
                      "record_type": ns.RECORD_TYPE}
            wrong = {"token_secret": "wrong-secret"}
        else:
            config = {"base_url": server.url, "username": orc.USER, "password": orc.PASSWORD, "resource": orc.RESOURCE}
            wrong = {"password": "wrong-secret"}
        await create(api, config, id_=kind, kind=kind)
        answer = (await api.post(f"/api/connections/{kind}/test")).json()
        assert answer["ok"] is True, answer
        await api.patch(f"/api/connections/{kind}", json={"config": wrong})
        answer = (await api.post(f"/api/connections/{kind}/test")).json()
        assert answer["ok"] is False and answer["stage"] == "auth", answer
        assert "wrong-secret" not in answer["message"]


async def test_an_http_connection_with_oauth2_fetches_a_token_and_says_when_the_client_is_refused(api: Api) -> None:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    issued: list[str] = []
    made = [0]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        if request.url.path == "/oauth/token":
            form = await request.form()
            ok = request.headers.get("authorization") == "Basic " + __import__("base64").b64encode(
                b"collector-app:client-secret-1").decode() and form.get("grant_type") == "client_credentials"
            if ok:
                issued.append(f"tok-{made[0]}")
                made[0] += 1
                response = JSONResponse({"access_token": issued[-1], "token_type": "Bearer", "expires_in": 3600})
            else:
                response = JSONResponse({"error": "invalid_client"}, 401)
        elif request.headers.get("authorization") in [f"Bearer {t}" for t in issued]:
            response = JSONResponse({"suppliers": []})
        else:
            response = JSONResponse({"error": "unauthorized"}, 401)
        await response(scope, receive, send)

    with serve(app) as server:
        await create(api, {"base_url": server.url + "/api", "auth_type": "oauth2", "test_path": "/suppliers",
                           "token_url": server.url + "/oauth/token", "client_id": "collector-app",
                           "client_secret": "client-secret-1", "scope": "suppliers.read"}, id_="erp-api", kind="http")
        answer = (await api.post("/api/connections/erp-api/test")).json()
        assert answer["ok"] is True, answer
        assert issued == ["tok-0"]
        # a token revoked early: the next call fetches a new one and goes through
        import httpx

        from datacollect.integrations.http_auth import send

        conn = api.platform.services.connections.get("erp-api")
        async with httpx.AsyncClient() as client:
            assert (await send(conn, client, "GET", server.url + "/api/suppliers")).status_code == 200
            assert issued == ["tok-0"]  # the cached token
            issued.remove("tok-0")  # revoked
            assert (await send(conn, client, "GET", server.url + "/api/suppliers")).status_code == 200
            assert issued == ["tok-1"]
        await api.patch("/api/connections/erp-api", json={"config": {"client_secret": "not-it"}})
        answer = (await api.post("/api/connections/erp-api/test")).json()
        assert answer["stage"] == "auth" and "invalid_client" in answer["message"]
        assert "not-it" not in answer["message"]
