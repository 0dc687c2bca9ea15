"""Protocol peers on loopback for the integration tests: an ASGI app served by uvicorn in a
thread of the test process (the fake ERPs, the webhook receiver)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.conftest import free_port


class ServedApp:
    def __init__(self, app: Any, port: int, ssl: dict[str, str] | None = None) -> None:
        self.app = app
        self.port = port
        scheme = "https" if ssl else "http"
        self.url = f"{scheme}://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                access_log=False, timeout_graceful_shutdown=1, **(ssl or {}))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@contextmanager
def serve(app: Any, ssl: dict[str, str] | None = None, port: int | None = None) -> Iterator[ServedApp]:
    s = ServedApp(app, port or free_port(), ssl)
    s.start()
    try:
        yield s
    finally:
        s.stop()
