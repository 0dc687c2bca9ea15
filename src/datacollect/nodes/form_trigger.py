"""FormTrigger: starts a run for each submission of a form.

``form_id`` names one version (``supplier_emissions_v2``) or a form's name
(``supplier_emissions``: every version). The run's item is the response: the answers at the
top level, plus ``response_id``, ``recipient``, ``campaign_id``, ``submitted_at`` and
``_form`` (``name``, ``version``, ``key``, ``required``), so a DataValidator after it checks
the form's required fields with ``required_fields``.
"""

from __future__ import annotations

from pydantic import Field

from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, Output


class FormTrigger(Node):
    type = "FormTrigger"
    category = "trigger"
    description = "Start the workflow each time a form is submitted."
    icon = "clipboard-check"
    inputs = False
    is_trigger = True

    class Config(NodeConfig):
        form_id: str = Field(min_length=1, description="The form: a version's key (supplier_emissions_v2) or a "
                                                       "form's name for every version.",
                             json_schema_extra={"format": "form"})
        validation_rules: list[str] | None = Field(
            None, description="Not needed: submissions are always checked with the form's own rules before a run "
                              "starts. Kept so definitions written with it still load.",
            json_schema_extra={"x-group": "advanced"})

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        return {"main": items or [{}]}
