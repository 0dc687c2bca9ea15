"""Sensitive answers at rest: the database holds them encrypted (read with SQL), callers who
may see them read them in clear, viewers get them masked; drafts, prefills and the response's
trail are sealed too; rows written in clear still read, and key rotation seals them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from datacollect.integrations.crypto import DEVELOPMENT_KEY, SecretBox, generate_key
from datacollect.security import sensitive
from tests.api.conftest import Api
from tests.api.test_public_forms import campaign
from tests.forms.helpers import SmtpServer, good_answers, settings_fixture, smtp_fixture  # noqa: F401 (fixtures)

REVENUE = 918273645.25


def raw(api: Api, sql: str, **params: Any) -> str:
    """Every value the query answers, as the database holds it, in one text."""
    with api.platform.db.engine.connect() as c:
        return " ".join(str(v) for row in c.execute(text(sql), params).all() for v in row)


@pytest.fixture(autouse=True)
def _development_keys() -> Any:
    yield
    sensitive.use_box(SecretBox([DEVELOPMENT_KEY]))


async def test_a_sensitive_answer_is_encrypted_in_the_row_and_readable_by_who_may_see_it(
        api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["jana@acme.example"])
    r = await api.client.post(f"/api/public/forms/{tokens['jana@acme.example']}/submit",
                              json={"answers": good_answers(annual_revenue=REVENUE)})
    assert r.status_code == 200, r.text
    rid = r.json()["response_id"]

    stored = raw(api, "SELECT answers FROM form_responses WHERE id = :id", id=rid)
    assert "918273645" not in stored and "$sealed" in stored and "Acme Steel GmbH" in stored
    trail = raw(api, "SELECT before, after FROM response_changes WHERE response_id = :id", id=rid)
    assert "918273645" not in trail and "$sealed" in trail

    assert (await api.get(f"/api/responses/{rid}")).json()["answers"]["annual_revenue"] == REVENUE
    assert (await api.get(f"/api/responses/{rid}", role="reviewer")).json()["answers"]["annual_revenue"] == REVENUE
    viewer = (await api.get(f"/api/responses/{rid}", role="viewer")).json()
    assert viewer["answers"]["annual_revenue"] == "***" and viewer["answers"]["scope_1"] == 1200.5

    # an edit: the new value and the old one in the trail are sealed too
    r = await api.put(f"/api/responses/{rid}", json={"answers": {"annual_revenue": 564738291.5},
                                                     "reason": "typo in the revenue"})
    assert r.status_code == 200, r.text
    edit = r.json()["changes"][-1]
    assert (edit["before"], edit["after"]) == ({"annual_revenue": REVENUE}, {"annual_revenue": 564738291.5})
    both = raw(api, "SELECT r.answers, c.before, c.after FROM form_responses r JOIN response_changes c "
                    "ON c.response_id = r.id WHERE r.id = :id", id=rid)
    assert "918273645" not in both and "564738291" not in both
    again = (await api.get(f"/api/responses/{rid}")).json()
    assert again["answers"]["annual_revenue"] == 564738291.5
    assert again["changes"][-1]["after"] == {"annual_revenue": 564738291.5}
    csv_text = (await api.get("/api/responses?form=supplier_emissions_v2&format=csv")).text
    assert "564738291.5" in csv_text


async def test_a_draft_and_a_prefill_keep_sensitive_answers_sealed(api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["jana@acme.example"])
    base = f"/api/public/forms/{tokens['jana@acme.example']}"
    r = await api.client.put(f"{base}/draft", json={"answers": {"company_name": "Acme", "annual_revenue": REVENUE}})
    assert r.status_code == 200, r.text
    assert "918273645" not in raw(api, "SELECT draft FROM form_requests")
    assert (await api.client.get(base)).json()["answers"] == {"company_name": "Acme", "annual_revenue": REVENUE}
    r = await api.client.post(f"{base}/submit", json={"answers": good_answers(annual_revenue=REVENUE)})
    assert r.status_code == 200, r.text

    # next quarter's campaign starts from last quarter's answers: the prefill is sealed as well
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={
        "recipients": ["jana@acme.example"], "prefill_last_response": True, "delivery": "portal"})
    assert r.status_code == 201, r.text
    token = r.json()["links"][0]["url"].rsplit("/", 1)[1]
    assert "918273645" not in raw(api, "SELECT prefill, draft FROM form_requests")
    page = (await api.client.get(f"/api/public/forms/{token}")).json()
    assert page["answers_from"] == "prefill" and page["answers"]["annual_revenue"] == REVENUE


async def test_rows_written_in_clear_still_read_and_rotation_seals_them_under_the_new_key(
        api: Api, smtp: SmtpServer) -> None:
    _, tokens = await campaign(api, smtp, ["jana@acme.example", "tom@acme.example"])
    ids = []
    for email, token in sorted(tokens.items()):
        r = await api.client.post(f"/api/public/forms/{token}/submit",
                                  json={"answers": good_answers(annual_revenue=REVENUE, contact_email=email)})
        ids.append(r.json()["response_id"])
    # a row as it was written before answers were sealed
    from datacollect.db.types import dumps

    with api.platform.db.engine.begin() as c:
        c.execute(text("UPDATE form_responses SET answers = :a WHERE id = :id"),
                  {"a": dumps(good_answers(annual_revenue=555000111.5)), "id": ids[0]})
    assert "555000111" in raw(api, "SELECT answers FROM form_responses WHERE id = :id", id=ids[0])
    assert (await api.get(f"/api/responses/{ids[0]}")).json()["answers"]["annual_revenue"] == 555000111.5

    new = generate_key()
    both = SecretBox([new, DEVELOPMENT_KEY])
    with api.platform.db.write() as s:
        changed = sensitive.reseal(s, both)
    assert changed >= 3  # two responses (one in clear, one under the old key) and their trails
    stored = raw(api, "SELECT answers FROM form_responses")
    assert "555000111" not in stored and "918273645" not in stored
    with api.platform.db.write() as s:
        assert sensitive.reseal(s, both) == 0  # nothing left to do
    sensitive.use_box(SecretBox([new]))  # the old key is gone: everything still reads
    for rid, value in zip(ids, (555000111.5, REVENUE), strict=True):
        assert (await api.get(f"/api/responses/{rid}")).json()["answers"]["annual_revenue"] == value


def test_seal_and_unseal_cover_table_columns_and_leave_other_values() -> None:
    box = SecretBox([generate_key()])
    answers = {"name": "Jana", "iban": "DE89370400440532013000", "empty": None,
               "sites": [{"city": "Ulm", "iban": "DE02120300000000202051"}, {"city": "Bonn"}]}
    sealed = sensitive.seal(answers, ["iban", "empty", "sites[*].iban", "missing"], box)
    assert "DE89" not in repr(sealed) and "DE02" not in repr(sealed) and sealed["empty"] is None
    assert sealed["name"] == "Jana" and sealed["sites"][1] == {"city": "Bonn"}
    assert sensitive.seal(sealed, ["iban"], box) == sealed  # sealed once only
    assert sensitive.unseal(sealed, box) == answers
