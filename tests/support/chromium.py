"""Load a local HTML page in headless Chromium over the DevTools protocol and report what a reader would meet:
console messages, uncaught exceptions, browser log entries (failed loads), every request the page made, the ids in
its DOM, whether its images decoded, and a screenshot (`load_page`). `browse` drives a live web app the same way,
step by step (`Tab`: go to a URL, wait for what it renders, type, read the console), e.g. the Ray dashboard.

Chromium is Debian's `chromium` package, installed by scripts/test.sh in the background while the suite starts (a test
that needs it first waits for that install); a missing browser fails the test with advice (never a skip). The
websocket client is aiohttp's, which Ray's dashboard already brings into the venv.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


INSTALL_LOG = "ROBOT_SWEEPS_CHROMIUM_LOG"  # set by scripts/test.sh while it installs Chromium in the background
INSTALL_DONE = "robot-sweeps: apt exited "  # the install's last line
INSTALL_WAIT_S = 600


def chromium_path() -> str:
    """$CHROMIUM, else the first of NAMES on PATH (once scripts/test.sh's install, if one runs, has ended); fails the
    test (with what to do) when there is none."""
    install_log = _wait_for_the_install()
    found = os.environ.get("CHROMIUM") or next((p for n in NAMES if (p := shutil.which(n))), None)
    if not found:
        pytest.fail(
            "Chromium is missing: `bash scripts/test.sh` installs Debian's chromium package where apt-get is, or "
            "point $CHROMIUM at a Chromium/Chrome binary"
            + (f"; the install's log ends:\n{install_log}" if install_log else ""),
            pytrace=False,
        )
    return found


def _wait_for_the_install() -> str:
    """Wait until the install scripts/test.sh runs in the background (if it does) has ended; its log's last lines."""
    log = os.environ.get(INSTALL_LOG)
    if not log:
        return ""
    deadline = time.monotonic() + INSTALL_WAIT_S
    while True:
        lines = Path(log).read_text(errors="ignore").splitlines() if Path(log).exists() else []
        if (lines and lines[-1].startswith(INSTALL_DONE)) or time.monotonic() > deadline:
            return "\n".join(lines[-10:])
        time.sleep(1)


@dataclass
class PageLoad:
    console: list[str] = field(default_factory=list)  # console.* calls, uncaught exceptions, browser log entries
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    failed: list[str] = field(default_factory=list)  # requests that failed
    ids: list[str] = field(default_factory=list)  # every element id in the DOM, in order
    images_ok: bool = False  # every <img> decoded (naturalWidth > 0)
    n_images: int = 0
    title: str = ""
    screenshot: bytes = b""


def load_page(page: Path, width: int = 1280, height: int = 2400, timeout: float = 60.0) -> PageLoad:
    return browse(lambda tab: _probe_page(tab, Path(page).resolve().as_uri()), width, height, timeout)


def browse(script: Callable[[Tab], Awaitable[T]], width: int = 1280, height: int = 2400, timeout: float = 60.0) -> T:
    """Start headless Chromium (a fresh profile), open one tab and return what `await script(tab)` returns, within
    `timeout` seconds (Chromium's start, then the script). Cookies a page sets last for the run."""
    return asyncio.run(_browse(chromium_path(), script, width, height, timeout))


async def _probe_page(tab: Tab, url: str) -> PageLoad:
    await tab.goto(url)
    await asyncio.sleep(0.5)  # late console messages and failed loads
    probe = (
        "JSON.stringify({ids: [...document.querySelectorAll('[id]')].map(e => e.id), "
        "n: document.images.length, title: document.title, "
        "ok: [...document.images].every(i => i.complete && i.naturalWidth > 0)})"
    )
    value = json.loads(await tab.evaluate(probe))
    result = PageLoad(console=tab.console, requests=tab.requests, failed=tab.failed)
    result.ids, result.n_images, result.title, result.images_ok = value["ids"], value["n"], value["title"], value["ok"]
    result.screenshot = await tab.screenshot()
    return result


async def _browse(binary: str, script, width: int, height: int, timeout: float):
    import aiohttp

    # (Chromium's helpers, in its process group, may still write into the profile as the group is stopped)
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        log = Path(profile) / "stderr.log"
        with log.open("w") as stderr:
            proc = subprocess.Popen(
                [
                    binary,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--hide-scrollbars",
                    "--remote-debugging-port=0",
                    f"--user-data-dir={profile}/data",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its renderer, zygote and crashpad helpers stop with it (os.killpg below)
            )
        try:
            ws_url = _devtools_url(log, proc, timeout)
            async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
                tab = Tab(ws)
                try:
                    await asyncio.wait_for(tab.open(width, height), timeout)
                    return await asyncio.wait_for(script(tab), timeout)
                finally:
                    tab.close()
        finally:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc.pid, signal.SIGKILL)  # what outlived the browser (under load, helpers linger)
            proc.wait()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _devtools_url(log: Path, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"DevTools listening on (ws://\S+)", log.read_text(errors="replace"))
        if match:
            return match.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited ({proc.returncode}) before DevTools started:\n{log.read_text()}")
        time.sleep(0.1)
    raise RuntimeError(f"chromium's DevTools did not start within {timeout} s:\n{log.read_text()}")


class Tab:
    """One tab of the browser, driven over the DevTools protocol. What a reader would meet is collected as it
    happens: `console` (console.* calls, uncaught exceptions, browser log entries such as a failed load or an HTTP
    error status), `requests` (every URL asked for), `failed` (requests that failed, and responses >= 400)."""

    def __init__(self, ws):
        self.ws = ws
        self.console: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self._ids = iter(range(1, 1_000_000))
        self._pending: dict[int, asyncio.Future] = {}
        self._loaded = asyncio.Event()
        self._session: str | None = None
        self._reader: asyncio.Task | None = None

    async def open(self, width: int, height: int) -> None:
        self._reader = asyncio.create_task(self._read())
        target = (await self.send("Target.createTarget", url="about:blank"))["targetId"]
        self._session = (await self.send("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            await self.send(f"{domain}.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()

    async def send(self, method: str, **params) -> dict:
        """One DevTools command (to this tab once it is attached); its result, or RuntimeError with its error."""
        n = next(self._ids)
        self._pending[n] = asyncio.get_running_loop().create_future()
        await self.ws.send_str(
            json.dumps(
                {"id": n, "method": method, "params": params, **({"sessionId": self._session} if self._session else {})}
            )
        )
        reply = await self._pending[n]
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def goto(self, url: str) -> None:
        """Navigate to `url`; returns once it has loaded (at once for a change of the #fragment alone, as in a
        single-page app's hash routes: the page's script renders it, wait for that with `wait_for`)."""
        self._loaded.clear()
        navigated = await self.send("Page.navigate", url=url)
        if navigated.get("loaderId"):  # a new document, not a same-document (fragment) navigation
            await self._loaded.wait()

    async def wait_for_load(self) -> None:
        """Wait for the next load event (e.g. after the page reloads itself). Call `expect_load` before the action
        that reloads it."""
        await self._loaded.wait()

    def expect_load(self) -> None:
        self._loaded.clear()

    async def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited); a thrown error raises."""
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression[:80]}: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, timeout: float, what: str = "", poll: float = 0.25):
        """Poll a JavaScript expression until it is truthy and return its value; after `timeout` seconds,
        TimeoutError naming `what` and what the page shows."""
        deadline = time.monotonic() + timeout
        while not (value := await self.evaluate(expression)):
            if time.monotonic() > deadline:
                text = await self.evaluate("document.body ? document.body.innerText : ''")
                raise TimeoutError(
                    f"{what or expression} not seen within {timeout} s; the page shows:\n{(text or '')[:3000]}"
                )
            await asyncio.sleep(poll)
        return value

    async def text(self) -> str:
        """What the page shows (document.body.innerText)."""
        return await self.evaluate("document.body ? document.body.innerText : ''") or ""

    async def type_into(self, selector: str, text: str) -> None:
        """Focus the element `selector` finds and type `text` into it, as keystrokes would (input events fire)."""
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.send("Input.insertText", text=text)

    async def screenshot(self) -> bytes:
        import base64

        return base64.b64decode((await self.send("Page.captureScreenshot", format="png"))["data"])

    async def _read(self) -> None:
        async for message in self.ws:
            msg = json.loads(message.data)
            if "id" in msg and msg["id"] in self._pending:
                self._pending.pop(msg["id"]).set_result(msg)
            else:
                self._on_event(msg)

    def _on_event(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            self.console.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append(f"log.{entry.get('level')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Network.loadingFailed":
            self.failed.append(f"{params.get('errorText')} ({params.get('requestId')})")
        elif method == "Network.responseReceived":
            response = params.get("response", {})
            if response.get("status", 0) >= 400:
                self.failed.append(f"HTTP {response.get('status')} {response.get('url')}")
        elif method == "Page.loadEventFired":
            self._loaded.set()


def pixel_spread(png: bytes) -> float:
    """Standard deviation of the screenshot's grey levels (a blank page: ~0)."""
    import io

    import numpy as np
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).std())
