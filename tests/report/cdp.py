"""A real headless Chromium driven over the DevTools protocol: load a page, collect every
console error and every network request, read values out of the DOM, take screenshots.

Only loopback is touched: Chromium listens on 127.0.0.1 and the page is a local file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageLoad:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium process with one page."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="dq-chromium-")
        log_path = os.path.join(self.profile, "stderr.log")
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in close(); a file never fills up like a pipe
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--user-data-dir={self.profile}", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        self.ws: Any = None
        port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", Path(log_path).read_text(errors="replace"))
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.1)
        if port is None:
            self.close()
            raise RuntimeError("chromium did not start its DevTools endpoint")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.loads(r.read()) if t["type"] == "page")
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def load(self, url: str) -> PageLoad:
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(json.loads(self.ws.recv()))
        time.sleep(0.3)  # late console messages or requests
        self.call("Runtime.evaluate", expression="1")
        seen = PageLoad()
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                seen.console_errors.append(json.dumps(p.get("args"))[:300])
            elif method == "Runtime.exceptionThrown":
                seen.console_errors.append(json.dumps(p.get("exceptionDetails"))[:300])
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                seen.console_errors.append(p["entry"].get("text", "")[:300])
            elif method == "Network.requestWillBeSent":
                seen.requests.append(p["request"]["url"])
        return seen

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def screenshot(self, width: int, path: Path) -> None:
        height = int(self.evaluate("document.documentElement.scrollHeight") or 800)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=min(height, 16000), deviceScaleFactor=1, mobile=width < 600)
        time.sleep(0.2)
        height = int(self.evaluate("document.documentElement.scrollHeight") or 800)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=min(height, 16000), deviceScaleFactor=1, mobile=width < 600)
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            if self.ws is not None:
                self.ws.close()
        finally:
            self.log.close()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def artifacts_dir(root: Path) -> Path:
    """Where screenshots go: $DQ_TEST_ARTIFACTS, else test-artifacts/ in the checkout (not tracked)."""
    folder = Path(os.environ.get("DQ_TEST_ARTIFACTS") or root / "test-artifacts") / "report"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
