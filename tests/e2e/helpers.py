"""What a person does in the builder, as small steps the tests read like sentences."""

from __future__ import annotations

from typing import Any


class Builder:
    def __init__(self, page: Any) -> None:
        self.page = page

    @property
    def pane(self) -> Any:
        return self.page.locator(".react-flow__pane")

    def node(self, node_id: str) -> Any:
        return self.page.locator(f"[data-testid=canvas-node][data-node-id='{node_id}']")

    def close_panel(self) -> None:
        if self.page.get_by_test_id("node-panel").count():
            self.page.get_by_role("button", name="Close panel").click()

    def drag_from_palette(self, node_type: str, x: int, y: int) -> None:
        """Drags a node type from the palette onto the canvas at (x, y) inside the canvas."""
        self.close_panel()
        item = self.page.locator(f"[data-testid=palette-item][data-node-type='{node_type}']")
        item.drag_to(self.pane, target_position={"x": x, "y": y})

    def box(self, locator: Any) -> dict[str, float]:
        """The element's box once it stops moving (the canvas animates when it fits the view)."""
        last = None
        for _ in range(40):
            box = locator.bounding_box()
            if box is not None and box == last:
                return box
            last = box
            self.page.wait_for_timeout(50)
        assert last is not None, "the element is not on the page"
        return last

    def connect(self, source: str, port: str, target: str) -> None:
        """Drags from a node's output handle to another node's input handle."""
        self.close_panel()
        src = self.node(source).locator(f".react-flow__handle.source[data-handleid='{port}']")
        dst = self.node(target).locator(".react-flow__handle.target")
        a, b = self.box(src), self.box(dst)
        self.page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
        self.page.mouse.down()
        self.page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=10)
        self.page.mouse.up()

    def tidy(self) -> None:
        self.page.get_by_role("button", name="Tidy up: auto-layout").click()
        self.page.wait_for_timeout(400)

    def click_node(self, node_id: str) -> None:
        """Selects a node with the panel closed, once the canvas (which widens as the panel
        closes) stopped moving."""
        self.close_panel()
        self.box(self.node(node_id))
        self.node(node_id).click()

    def open(self, node_id: str) -> Any:
        """Clicks a node (with the panel closed, so the node is not under it) to open its panel."""
        self.close_panel()
        self.box(self.node(node_id))  # the canvas widens as a panel closes: click once it stopped
        self.node(node_id).click()
        panel = self.page.get_by_test_id("node-panel")
        panel.wait_for()
        return panel

    def field(self, path: str) -> Any:
        return self.page.locator(f"[data-testid=node-panel] [data-field='{path}']")

    def problems_on(self, node_id: str) -> Any:
        return self.node(node_id).get_by_test_id("node-problem")
