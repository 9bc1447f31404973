"""A webhook receiver on 127.0.0.1 that fails, hangs or succeeds on demand, and records what it got."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """``plan`` is what each successive POST gets: an HTTP status, or ``"hang"`` (no answer for ``hang_s``)."""

    def __init__(self, plan: list[int | str], *, hang_s: float = 3.0) -> None:
        self.plan = list(plan)
        self.hang_s = hang_s
        self.bodies: list[dict[str, Any]] = []
        self.times: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.times.append(time.monotonic())
                receiver.bodies.append(json.loads(raw))
                step = receiver.plan.pop(0) if receiver.plan else 200
                if step == "hang":
                    time.sleep(receiver.hang_s)
                    step = 200
                try:
                    self.send_response(int(step))
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
