"""ScheduleTrigger: starts a run on a cron schedule in an IANA time zone.

The scheduler (inside ``datacollect up``, or ``datacollect scheduler``) claims each fire under
a unique (schedule, fire time) key, so a fire starts exactly one run even with two
schedulers; after downtime the misfire policy says what to do with the fires missed.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AliasChoices, Field, field_validator

from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, Output


class ScheduleTrigger(Node):
    type = "ScheduleTrigger"
    category = "trigger"
    description = "Start the workflow on a schedule (cron), e.g. the first day of every quarter."
    icon = "clock"
    inputs = False
    is_trigger = True

    class Config(NodeConfig):
        cron: str = Field(validation_alias=AliasChoices("cron", "cron_expression"),
                          description="When to run, as a cron expression: '0 0 1 */3 *' is 00:00 on the "
                                      "first day of every third month.",
                          json_schema_extra={"examples": ["0 9 * * 1", "0 0 1 */3 *"]})
        timezone: str = Field("UTC", description="IANA time zone the cron is read in, e.g. Europe/Berlin.")
        misfire_policy: Literal["skip", "run_once", "run_all"] = Field(
            "run_once", description="After downtime: skip missed fires, run once for them, or run each one.")

        @field_validator("cron")
        @classmethod
        def _cron(cls, v: str) -> str:
            if not croniter.is_valid(v):
                raise ValueError(f"'{v}' is not a cron expression (five fields: minute hour day month weekday)")
            return v

        @field_validator("timezone")
        @classmethod
        def _tz(cls, v: str) -> str:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"'{v}' is not an IANA time zone (such as Europe/Paris or UTC)") from None
            return v

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        return {"main": items or [{}]}
