"""The error tree of datacollect.

Every error a user can cause or see is one of these, so the API maps them to
HTTP answers in one place and the CLI prints them plainly::

    DatacollectError
    ├── NotFound                 an id, slug or token that does not exist
    ├── Conflict                 a state that does not allow the action (cancel a finished run)
    ├── Unauthorized             the caller did not say who they are (or the proof is wrong)
    ├── PermissionDenied         the caller may not do this
    ├── InvalidInput             a request that cannot be taken as it is
    │   └── DefinitionError      a workflow definition with problems (all of them, at once)
    ├── ExpressionError          an expression that does not parse, or fails when evaluated
    └── NodeError                a node that failed while running (kept on the activation)
        └── RetryableNodeError   a failure worth retrying (timeouts, 429, 5xx)
"""

from __future__ import annotations

from typing import Any


class DatacollectError(Exception):
    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DatacollectError):
    code = "not_found"


class Conflict(DatacollectError):
    code = "conflict"


class Unauthorized(DatacollectError):
    code = "unauthorized"


class PermissionDenied(DatacollectError):
    code = "forbidden"


class InvalidInput(DatacollectError):
    code = "invalid_input"


class DefinitionError(InvalidInput):
    """A workflow definition with problems; ``details`` lists every one of them."""

    code = "invalid_definition"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        n = len(problems)
        first = problems[0]["message"] if problems else ""
        summary = f"The workflow has {n} problem{'s' if n != 1 else ''}"
        super().__init__(f"{summary}: {first}" if n == 1 else summary, details=problems)
        self.problems = problems


class ExpressionError(DatacollectError):
    code = "invalid_expression"

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"Expression {expression!r}: {reason}", details={"expression": expression})
        self.expression = expression
        self.reason = reason


class NodeError(DatacollectError):
    """Raised by a node; the runner stores it on the activation and applies ``on_error``."""

    code = "node_error"
    retryable = False


class RetryableNodeError(NodeError):
    retryable = True
