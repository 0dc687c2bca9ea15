"""The API fixture of tests/api, for the database tests that go through the API."""

from tests.api.conftest import api  # noqa: F401 (fixture)
