"""Users, API keys and the audit of changes to them."""

from __future__ import annotations


async def test_an_admin_creates_a_user_who_can_log_in_with_that_role(api):
    r = await api.post("/api/users", json={"email": "New@Example.com", "password": "a-long-password",
                                           "role": "builder"})
    assert r.status_code == 201 and r.json()["email"] == "new@example.com"
    assert "password" not in r.text and "password_hash" not in r.text
    r = await api.client.post("/api/auth/token", data={"username": "new@example.com", "password": "a-long-password"})
    assert r.status_code == 200 and r.json()["user"]["role"] == "builder"
    r = await api.client.post("/api/auth/token", data={"username": "new@example.com", "password": "wrong-password"})
    assert r.status_code == 401 and r.json()["error"]["message"] == "The email or the password is wrong"


async def test_bad_user_input_is_refused_with_a_reason(api):
    r = await api.post("/api/users", json={"email": "x@example.com", "password": "short"})
    assert r.status_code == 400 and "8 characters" in r.json()["error"]["message"]
    r = await api.post("/api/users", json={"email": "builder@example.com", "password": "long-enough-1"})
    assert r.status_code == 409
    r = await api.post("/api/users", json={"email": "y@example.com", "password": "long-enough-1", "role": "king"})
    assert r.status_code == 422


async def test_a_deactivated_user_is_locked_out_at_once(api):
    users = (await api.get("/api/users")).json()["data"]
    viewer = next(u for u in users if u["role"] == "viewer")
    assert (await api.get("/api/workflows", "viewer")).status_code == 200
    r = await api.patch(f"/api/users/{viewer['id']}", json={"active": False})
    assert r.status_code == 200
    assert (await api.get("/api/workflows", "viewer")).status_code == 401


async def test_the_last_admin_cannot_be_demoted(api):
    users = (await api.get("/api/users")).json()["data"]
    admin = next(u for u in users if u["role"] == "admin")
    r = await api.patch(f"/api/users/{admin['id']}", json={"role": "viewer"})
    assert r.status_code == 409


async def test_an_api_key_is_shown_once_stored_hashed_and_can_be_revoked(api):
    r = await api.post("/api/api-keys", "builder", json={"name": "ERP sync", "role": "viewer"})
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith("dc_") and created["prefix"] == key[:10]
    assert created["owner"] == "builder@example.com"
    listed = (await api.get("/api/api-keys", "builder")).json()["data"]
    assert listed and "key" not in listed[0]
    # an admin sees every key with whose it is
    everyone = (await api.get("/api/api-keys", "admin")).json()["data"]
    assert {(k["name"], k["owner"]) for k in everyone} >= {("ERP sync", "builder@example.com")}
    r = await api.client.get("/api/workflows", headers={"X-API-Key": key})
    assert r.status_code == 200
    r = await api.client.post("/api/workflows", headers={"X-API-Key": key}, json={})
    assert r.status_code == 403  # the key has the viewer role
    assert (await api.delete(f"/api/api-keys/{created['id']}", "builder")).status_code == 204
    r = await api.client.get("/api/workflows", headers={"X-API-Key": key})
    assert r.status_code == 401


async def test_a_key_cannot_have_more_rights_than_its_owner(api):
    r = await api.post("/api/api-keys", "reviewer", json={"name": "too much", "role": "admin"})
    assert r.status_code == 403


async def test_changes_to_users_and_keys_are_audited_without_secrets(api):
    await api.post("/api/users", json={"email": "z@example.com", "password": "a-long-password", "role": "viewer"})
    await api.post("/api/api-keys", json={"name": "k"})
    entries = (await api.get("/api/audit")).json()["data"]
    actions = [e["action"] for e in entries]
    assert "user.create" in actions and "api_key.create" in actions
    assert "a-long-password" not in str(entries)
