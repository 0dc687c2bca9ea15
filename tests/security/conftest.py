"""The API fixture (a running app and a signed-in user per role) for the security tests."""

from tests.api.conftest import api  # noqa: F401 (fixture)
