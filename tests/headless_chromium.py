"""Headless Chromium driven through its own DevTools protocol, for the explorer page's browser test
and benchmarks/explorer_page.py.

Chromium from Debian (tests/servers/chromium/provision.sh) with --remote-debugging-port, spoken to
over one websocket with aiohttp (already installed: s3fs's client needs it): no WebDriver, no browser
downloaded by a Python package, nothing that needs the network.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import subprocess
import tempfile
from pathlib import Path

import aiohttp

from machine_needs import installed_command

# Whether BokehJS has rendered every document of the page, and how long after navigation started.
BOKEH_RENDERED = """
new Promise(resolve => {
    const check = () => {
        const documents = window.Bokeh ? Bokeh.documents : [];
        if (documents.length > 0 && documents.every(d => d.is_idle)) resolve(performance.now());
        else setTimeout(check, 5);
    };
    check();
})
"""


def chromium_or_skip() -> str:
    """Chromium's path; without it a skip, or under CI=true a failure (CI must never skip silently)."""
    return installed_command("chromium", "tests/servers/chromium/provision.sh")


class HeadlessChromium:
    """One headless Chromium with one page; use it as a context manager."""

    def __init__(self, executable: str, width: int = 1600, height: int = 1000, timeout_s: float = 120):
        self.executable, self.width, self.height, self.timeout_s = executable, width, height, timeout_s
        self._ids = itertools.count(1)
        self._events: list[dict] = []
        self._loop = asyncio.new_event_loop()

    def __enter__(self) -> HeadlessChromium:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self._process = subprocess.Popen(
            [
                self.executable, "--headless", "--remote-debugging-port=0", f"--user-data-dir={self._profile.name}",
                # Root in a container has no user namespace for the sandbox.
                "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                f"--window-size={self.width},{self.height}", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for line in self._process.stderr:
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                break
        else:
            raise RuntimeError(f"Chromium exited ({self._process.wait()}) before opening its DevTools port")
        port = re.search(r":(\d+)/", found.group(1)).group(1)
        self._run(self._connect(f"http://127.0.0.1:{port}/json/list"))
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.version = self.call("Browser.getVersion")["product"]
        return self

    def __exit__(self, *exc) -> None:
        self._run(self._session.close())
        self._loop.close()
        self._process.terminate()
        self._process.wait(timeout=30)
        self._profile.cleanup()

    def _run(self, coroutine):
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, self.timeout_s))

    async def _connect(self, targets_url: str) -> None:
        self._session = aiohttp.ClientSession()
        async with self._session.get(targets_url) as response:
            page = next(t for t in await response.json() if t["type"] == "page")
        # A screenshot of a large page is one message of several MB.
        self._socket = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)

    async def _call(self, method: str, params: dict) -> dict:
        number = next(self._ids)
        await self._socket.send_str(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads((await self._socket.receive()).data)
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self._events.append(message)

    async def _event(self, method: str) -> dict:
        while True:
            for index, event in enumerate(self._events):
                if event.get("method") == method:
                    return self._events.pop(index)
            self._events.append(json.loads((await self._socket.receive()).data))

    def call(self, method: str, **params) -> dict:
        return self._run(self._call(method, params))

    def open(self, path: Path) -> float:
        """Load a file and wait until BokehJS has rendered it: the milliseconds since navigation started."""
        self._events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self._run(self._event("Page.loadEventFired"))
        return self.evaluate(BOKEH_RENDERED)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:200]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 10) -> None:
        """A left-button drag from `start` to `end` (CSS pixels), as a hand on a mouse makes it."""
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=start[0], y=start[1])
        self.call("Input.dispatchMouseEvent", type="mousePressed", x=start[0], y=start[1], button="left", clickCount=1)
        for step in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * step / steps
            y = start[1] + (end[1] - start[1]) * step / steps
            self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
        self.call("Input.dispatchMouseEvent", type="mouseReleased", x=end[0], y=end[1], button="left", clickCount=1)

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
