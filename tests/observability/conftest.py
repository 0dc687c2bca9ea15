"""The API fixture of tests/api, for the observability tests."""

from tests.api.conftest import api  # noqa: F401
