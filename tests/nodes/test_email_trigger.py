"""EmailTrigger against a real IMAP server (Debian's dovecot, started by the test on a free
loopback port): one run per matching message, attachments in the blob store, nothing twice
after a restart, a lost mark, two copies of one message, or a 30 MB attachment."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from datacollect.integrations import connections as conn_svc
from datacollect.integrations.imap import KEYWORD, MailboxClient
from tests.engine.helpers import TEST_NODES, node, save, wf
from tests.integrations.imap_server import Dovecot, ensure_dovecot

USER, PASSWORD = "figures@example.com", "Imap-pass-1"


@pytest.fixture
def db_url() -> None:
    return None


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    if ensure_dovecot() is None:
        pytest.skip("dovecot is not installed and cannot be installed here (scripts/imap.sh needs root)")
    server = Dovecot(tmp_path / "imap", {USER: PASSWORD})
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def make_platform(settings: Any) -> Any:
    from datacollect.nodes.builtin import NODES
    from datacollect.nodes.registry import NodeRegistry
    from datacollect.platform import Platform

    p = Platform.create(settings, registry=NodeRegistry([*NODES, *TEST_NODES]))
    await p.start(scheduler=False)
    return p


@pytest.fixture
async def platform(settings: Any) -> AsyncIterator[Any]:
    p = await make_platform(settings)
    try:
        yield p
    finally:
        await p.stop()


def mail(subject: str = "Q1 emissions figures", sender: str = "Anna Berg <anna@supplier.example>",
         attachments: list[tuple[str, bytes, str]] | None = None, message_id: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = USER
    m["Subject"] = subject
    m["Message-ID"] = message_id or f"<{os.urandom(8).hex()}@supplier.example>"
    m["Date"] = "Wed, 02 Apr 2025 09:14:00 +0000"
    m.set_content("Hello,\nthe figures are attached.\n")
    for name, data, ctype in attachments or []:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(m)


def setup(platform: Any, dovecot: Dovecot, **config: Any) -> None:
    hub = platform.services.extra["integrations"]
    with platform.db.write() as s:
        conn_svc.create_connection(s, hub.box, {"id": "supplier-inbox", "name": "Supplier inbox", "kind": "imap",
                                                "config": {"host": "127.0.0.1", "port": dovecot.port,
                                                           "security": "none", "username": USER,
                                                           "password": PASSWORD}}, "test")
    cfg = {"connection": "supplier-inbox", "from_filter": "*@supplier.example", "subject_filter": "*figures*",
           "poll_seconds": 1, **config}
    save(platform, wf("mailin", [node("inbox", "EmailTrigger", **cfg), node("collect", "TestCollect")],
                      [("inbox", "collect")]))


async def poll(platform: Any) -> list[dict[str, Any]]:
    """One poll of every EmailTrigger; answers the runs it started, settled, oldest first."""
    poller = platform.services.extra["integrations"].email
    poller._refreshed, poller._stamp = 0.0, None
    poller.refresh()
    before = set(_run_ids(platform))
    for t in poller.triggers.values():
        await poller.poll(t)
    new = [r for r in _run_ids(platform) if r not in before]
    for run_id in new:
        await platform.runner.wait_settled(run_id, 60)
    return [_run(platform, r) for r in new]


def _run_ids(platform: Any) -> list[str]:
    with platform.db.engine.connect() as c:
        from sqlalchemy import text

        return [r[0] for r in c.execute(text("SELECT id FROM runs WHERE workflow_id = 'mailin' ORDER BY created_at"))]


def _run(platform: Any, run_id: str) -> dict[str, Any]:
    with platform.store.transaction() as tx:
        run = tx.get_run(run_id)
        assert run is not None
        return run


def last_error(platform: Any) -> str | None:
    return next(iter(platform.services.extra["integrations"].email.last.values()), {}).get("error")


async def blob(platform: Any, key: str) -> bytes:
    return b"".join([c async for c in platform.services.blobs.open(key)])


async def test_each_matching_message_starts_one_run_with_its_attachments_in_the_blob_store(platform, dovecot) -> None:
    setup(platform, dovecot)
    sheet = os.urandom(50_000)
    dovecot.deliver(USER, mail(attachments=[("q1 figures.xlsx", sheet, "application/vnd.ms-excel"),
                                            ("notes.txt", b"scope 3 estimated\n", "text/plain")]))
    dovecot.deliver(USER, mail(subject="Lunch on Friday?"))  # no match: left alone
    dovecot.deliver(USER, mail(sender="spam@elsewhere.example"))  # no match
    runs = await poll(platform)
    assert len(runs) == 1 and runs[0]["status"] == "completed", last_error(platform)
    item = runs[0]["trigger"]
    assert item["from"] == "anna@supplier.example" and item["from_name"] == "Anna Berg"
    assert item["subject"] == "Q1 emissions figures" and item["to"] == [USER]
    assert item["text"] == "Hello,\nthe figures are attached.\n"
    assert item["date"] == "2025-04-02T09:14:00+00:00"
    assert item["mailbox"] == {"connection": "supplier-inbox", "folder": "INBOX", "uid": 1}
    first, second = item["attachments"]
    assert (first["name"], first["size"], first["content_type"]) == ("q1 figures.xlsx", 50_000,
                                                                     "application/vnd.ms-excel")
    assert first["sha256"] == hashlib.sha256(sheet).hexdigest()
    assert await blob(platform, first["key"]) == sheet
    assert await blob(platform, second["key"]) == b"scope 3 estimated\n"
    flags = dict(dovecot.flags(USER))
    assert "\\Seen" in flags[1] and KEYWORD in flags[1]
    assert "\\Seen" not in flags[2] and "\\Seen" not in flags[3]  # what did not match is not touched
    assert await poll(platform) == []  # nothing twice


async def test_nothing_is_processed_twice_after_a_restart(settings, dovecot) -> None:
    platform = await make_platform(settings)
    setup(platform, dovecot)
    dovecot.deliver(USER, mail())
    assert len(await poll(platform)) == 1
    await platform.stop()
    dovecot.deliver(USER, mail())
    platform = await make_platform(settings)
    try:
        runs = await poll(platform)
        assert len(runs) == 1  # only the new one
        assert len(_run_ids(platform)) == 2
    finally:
        await platform.stop()


async def test_a_mark_lost_after_the_run_started_is_made_at_the_next_poll_without_a_second_run(platform, dovecot,
                                                                                                monkeypatch) -> None:
    setup(platform, dovecot)
    dovecot.deliver(USER, mail())
    real_mark = MailboxClient.mark

    def broken(self: MailboxClient, uid: int, move_to: str | None) -> None:
        raise OSError("connection reset by peer")

    monkeypatch.setattr(MailboxClient, "mark", broken)
    assert len(await poll(platform)) == 1  # the run started, the message is not marked
    assert "connection reset" in (last_error(platform) or "")
    assert "\\Seen" not in dict(dovecot.flags(USER))[1]
    monkeypatch.setattr(MailboxClient, "mark", real_mark)
    assert await poll(platform) == []
    assert KEYWORD in dict(dovecot.flags(USER))[1]
    rows = platform.services.extra["integrations"].email.ledger.rows("mailin/inbox")
    assert [r["status"] for r in rows] == ["done"]


async def test_the_same_message_delivered_twice_starts_one_run(platform, dovecot) -> None:
    setup(platform, dovecot)
    twice = mail(message_id="<same-one@supplier.example>")
    dovecot.deliver(USER, twice)
    dovecot.deliver(USER, twice)
    assert len(await poll(platform)) == 1
    assert all(KEYWORD in f for _, f in dovecot.flags(USER))


async def test_handled_mail_can_be_moved_to_a_folder(platform, dovecot) -> None:
    setup(platform, dovecot, after="move", move_to="Processed/Figures")
    dovecot.deliver(USER, mail())
    assert len(await poll(platform)) == 1
    assert dovecot.count(USER) == 0 and dovecot.count(USER, "Processed.Figures") == 1  # dovecot's "." hierarchy
    assert await poll(platform) == []


async def test_a_30_mb_attachment_over_the_limit_is_a_clear_item_error_and_the_rest_is_stored(platform,
                                                                                               dovecot) -> None:
    setup(platform, dovecot)  # max_attachment_mb: 25
    big = os.urandom(30 << 20)
    dovecot.deliver(USER, mail(attachments=[("scans.zip", big, "application/zip"),
                                            ("figures.csv", b"co2;12.5\n", "text/csv")]))
    [run] = await poll(platform)
    assert run["status"] == "completed", last_error(platform)
    scans, csv = run["trigger"]["attachments"]
    assert "key" not in scans and scans["size"] > 25 << 20
    assert scans["error"] == ("The attachment scans.zip is larger than the limit of 25 MB (max_attachment_mb); "
                              "it was not stored.")
    assert await blob(platform, csv["key"]) == b"co2;12.5\n"
    assert KEYWORD in dict(dovecot.flags(USER))[1]


async def test_a_30_mb_attachment_under_a_higher_limit_is_streamed_into_the_blob_store(platform, dovecot) -> None:
    setup(platform, dovecot, max_attachment_mb=40)
    big = os.urandom(30 << 20)
    dovecot.deliver(USER, mail(attachments=[("scans.zip", big, "application/zip")]))
    [run] = await poll(platform)
    assert run["status"] == "completed", last_error(platform)
    [scans] = run["trigger"]["attachments"]
    assert scans["size"] == 30 << 20 and scans["sha256"] == hashlib.sha256(big).hexdigest()
    digest = hashlib.sha256()
    async for chunk in platform.services.blobs.open(scans["key"]):
        digest.update(chunk)
    assert digest.hexdigest() == scans["sha256"]


async def test_a_failing_blob_store_leaves_the_message_for_the_next_poll_with_a_clear_error(platform, dovecot) -> None:
    setup(platform, dovecot)
    dovecot.deliver(USER, mail(attachments=[("a.pdf", b"%PDF-1.4", "application/pdf")]))
    store = platform.services.blobs
    real_put = store.put

    async def no_bucket(*a: Any, **kw: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist"}},
                          "PutObject")

    store.put = no_bucket
    assert await poll(platform) == []
    error = last_error(platform) or ""
    assert "could not be taken" in error and "does not exist" in error and "DATACOLLECT_BLOB_URL" in error
    assert "\\Seen" not in dict(dovecot.flags(USER))[1]  # still there, unread
    store.put = real_put
    assert len(await poll(platform)) == 1


async def test_a_wrong_password_is_reported_and_nothing_starts(platform, dovecot) -> None:
    setup(platform, dovecot)
    hub = platform.services.extra["integrations"]
    with platform.db.write() as s:
        conn_svc.update_connection(s, hub.box, "supplier-inbox", {"config": {"password": "wrong-pw"}}, "test")
    dovecot.deliver(USER, mail())
    assert await poll(platform) == []
    error = last_error(platform) or ""
    assert "refused the user name or password" in error and "wrong-pw" not in error


async def test_the_imap_connection_test_logs_in_and_opens_the_folder(platform, dovecot) -> None:
    from datacollect.integrations.connection_tests import test_connection

    setup(platform, dovecot)
    conn = platform.services.connections.get("supplier-inbox")
    assert (await test_connection(conn))["ok"] is True
    conn.values["folder"] = "Nope"
    result = await test_connection(conn)
    assert result["stage"] == "not_found" and "Nope" in result["message"]
    conn.values["password"] = "bad-password"
    result = await test_connection(conn)
    assert result["stage"] == "auth" and "bad-password" not in result["message"]


async def test_the_poller_runs_from_the_scheduler_tick(platform, dovecot) -> None:
    import asyncio

    setup(platform, dovecot)
    dovecot.deliver(USER, mail())
    hub = platform.services.extra["integrations"]
    await hub.tick()
    await hub.email.wait_idle()
    for _ in range(50):
        if _run_ids(platform):
            break
        await asyncio.sleep(0.1)
    assert len(_run_ids(platform)) == 1


async def test_with_idle_a_new_message_is_heard_of_at_once(platform, dovecot) -> None:
    import asyncio

    setup(platform, dovecot, watch="idle", poll_seconds=600)  # only IDLE can find it in time
    hub = platform.services.extra["integrations"]
    await hub.tick()
    poller = hub.email
    for _ in range(300):  # the watcher has polled once and is waiting on IDLE
        if poller.last.get("mailin/inbox"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    dovecot.deliver(USER, mail())
    for _ in range(300):
        if _run_ids(platform):
            break
        await asyncio.sleep(0.1)
    assert len(_run_ids(platform)) == 1
    for _ in range(300):  # marked right after its run started
        if KEYWORD in dict(dovecot.flags(USER))[1]:
            break
        await asyncio.sleep(0.1)
    assert KEYWORD in dict(dovecot.flags(USER))[1]
    await poller.stop()  # the watcher's thread ends within a second
    assert all(t.done() for t in poller.tasks.values()) or not poller.tasks
