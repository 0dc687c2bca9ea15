"""The scheduler's reconciler in the distributed shape: a ready activation is sent again only
after it has been seen ready for a while, and not while its message may still wait in a queue."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from datacollect.engine import scheduler as sched
from datacollect.engine.scheduler import Scheduler


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(sched.time, "monotonic", c)
    return c


def _scheduler(backlog: int | None) -> Scheduler:
    dispatcher = SimpleNamespace(dispatch=lambda ids: None)
    if backlog is not None:
        dispatcher.backlog = lambda: backlog
    runner = SimpleNamespace(dispatcher=dispatcher)
    return Scheduler(runner, schedules=None, reconcile_after=30)  # type: ignore[arg-type]


def test_a_ready_activation_is_sent_again_only_after_it_was_seen_ready_for_reconcile_after(clock: Clock) -> None:
    s = _scheduler(backlog=None)
    assert s._unattended(["a", "b"]) == []
    clock.t += 20
    assert s._unattended(["a", "b", "c"]) == []
    clock.t += 10
    assert s._unattended(["a", "c"]) == ["a"]  # b was taken meanwhile; c is new
    clock.t += 5
    assert s._unattended(["a", "c"]) == []  # a was just sent again: it waits again


def test_messages_still_queued_hold_back_as_many_of_the_youngest_stale_activations(clock: Clock) -> None:
    s = _scheduler(backlog=2)
    s._unattended(["old"])
    clock.t += 10
    s._unattended(["old", "mid1", "mid2"])
    clock.t += 40
    assert s._unattended(["old", "mid1", "mid2"]) == ["old"]  # two messages may still be theirs
    clock.t += 300
    assert sorted(s._unattended(["old", "mid1", "mid2"])) == ["mid1", "mid2", "old"]  # overdue


def test_without_a_delay_every_ready_activation_is_sent_at_once(clock: Clock) -> None:
    s = _scheduler(backlog=None)
    s.reconcile_after = 0
    assert s._unattended(["a", "b"]) == ["a", "b"]
