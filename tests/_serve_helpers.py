"""A real derivcheck server on 127.0.0.1 in a background thread (tests of derivcheck serve)."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest


def web_stack_or_skip():
    for mod, why in (("starlette", "Starlette"), ("uvicorn", "uvicorn"), ("httpx", "httpx")):
        pytest.importorskip(mod, reason=f"{why} is not installed: pip install -e '.[serve]'")


def require_browser() -> bool:
    """CI sets DERIVCHECK_REQUIRE_BROWSER=1 where Chromium is installed: the browser tests must run there."""
    return os.environ.get("DERIVCHECK_REQUIRE_BROWSER", "") not in ("", "0")


class LiveServer:
    """``create_app(config)`` served by uvicorn on a free loopback port until :meth:`close`."""

    def __init__(self, config):
        import uvicorn

        from derivcheck.web.app import create_app

        self.app = create_app(config)
        self.state = self.app.state.derivcheck
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.state.pool.close()
        self.sock.close()
