"""The web app in a background thread on a free loopback port: for tests, the benchmark and
the README's screenshots. Ready when it answers; stopped cleanly (event streams closed first).
"""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path
from typing import Any

from . import listen
from .app import App, create_app


class ServerThread:
    def __init__(self, root: Path | str, **options: Any) -> None:
        import uvicorn

        self.sock = listen("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.app: App = create_app(root, port=self.port, **options)
        config = uvicorn.Config(
            self.app.asgi,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def login_url(self) -> str:
        return f"{self.url}/?token={self.app.settings.token}"

    def start(self, timeout: float = 120.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started and self._answers():
                return self
            if not self.thread.is_alive():
                raise RuntimeError("the web app stopped while starting")
            time.sleep(0.05)
        raise TimeoutError(f"the web app did not answer within {timeout:g} s")

    def _answers(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/static/app.css")
            ok = connection.getresponse().status == 200
            connection.close()
            return ok
        except OSError:
            return False

    def stop(self) -> None:
        self.app.backend.events.close()
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
