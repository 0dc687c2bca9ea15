"""Logs: JSON lines a log pipeline reads, each line written while a node runs carrying the
workflow, run and node ids; text for a person otherwise."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from datacollect.observability.logs import ContextFilter, TextFormatter, json_formatter, log_context
from tests.api.conftest import Api
from tests.engine.helpers import node, save, wf
from tests.observability.test_metrics import settled


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


async def test_a_line_logged_while_a_node_runs_names_its_workflow_run_and_node(api: Api, json_log: io.StringIO) -> None:
    save(api.platform, wf("logged", [node("start", "ManualTrigger"), node("flaky", "TestFlaky", failures=1, retry={
        "max_attempts": 2, "backoff_seconds": 0.01, "jitter": False})], [("start", "flaky")]))
    r = await api.post("/api/workflows/logged/run", role="builder", json={"data": {"x": 1}})
    run_id = r.json()["id"]
    await settled(api, run_id)

    [retry] = [line for line in lines(json_log) if line["message"].startswith("retrying")]
    assert (retry["level"], retry["logger"]) == ("INFO", "datacollect.engine")
    assert (retry["workflow_id"], retry["run_id"], retry["node_id"]) == ("logged", run_id, "flaky")
    assert retry["time"]
    # lines outside any run carry no run
    logging.getLogger("datacollect.test").info("outside")
    assert lines(json_log)[-1]["run_id"] is None


def test_contexts_nest_and_end_with_their_block(json_log: io.StringIO) -> None:
    log = logging.getLogger("datacollect.test")
    with log_context(workflow_id="w", run_id="r1"):
        with log_context(node_id="n1"):
            log.warning("inner", extra={"attempt": 2})
        log.warning("outer")
    log.warning("after")
    inner, outer, after = lines(json_log)
    assert (inner["run_id"], inner["node_id"], inner["attempt"]) == ("r1", "n1", 2)
    assert (outer["run_id"], outer["node_id"]) == ("r1", None)
    assert after["run_id"] is None


def test_text_lines_end_with_the_run_and_node() -> None:
    record = logging.LogRecord("datacollect.engine", logging.INFO, __file__, 1, "retrying %s", ("x",), None)
    with log_context(run_id="r1", node_id="n1"):
        ContextFilter().filter(record)
    assert TextFormatter("%(levelname)s %(name)s: %(message)s").format(record) == \
        "INFO datacollect.engine: retrying x [run=r1 node=n1]"
