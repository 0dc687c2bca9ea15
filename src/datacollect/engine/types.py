"""What flows between nodes, and what a node may answer.

Data flows as *items*: a list of JSON objects per output port (n8n's model). A node's
``run`` answers one of:

* ``{"main": [item, ...]}`` - items per output port; a port that is absent or empty
  produced nothing, and the edges leaving it are *skipped*;
* ``Suspend(...)`` - the activation waits (for a time, an event, or both) without holding a
  worker; its ``resume`` runs when it is woken. ``Suspend.emit`` sends items down the graph
  in a new *lane* while the activation keeps waiting (one lane per form response, say).

Example::

    class Wait(Node):
        async def run(self, ctx, items):
            return Suspend(wake_at=ctx.now() + timedelta(hours=1), state={"items": items})

        async def resume(self, ctx, state, event):
            return {"main": state["items"]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Item = dict[str, Any]
Items = list[Item]
Output = dict[str, Items]

MAIN = "main"
ERROR = "error"


@dataclass
class Suspend:
    """Wait until ``wake_at`` (a timer), until an event named ``wait_for`` arrives, or both
    (whichever comes first). ``state`` is stored and handed back to ``resume``.

    ``emit`` sends items out of the node's ports in a new lane while the activation keeps
    waiting; each ``Suspend`` with ``emit`` makes one new lane.
    """

    wake_at: datetime | None = None
    wait_for: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    emit: Output | None = None


@dataclass
class WakeEvent:
    """Why a waiting activation was woken: ``kind`` is ``"timer"`` or ``"event"``."""

    kind: str
    key: str | None = None
    payload: Any = None
