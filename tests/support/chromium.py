"""Load a local HTML page in headless Chromium over the DevTools protocol and report what a reader would meet:
console messages, uncaught exceptions, browser log entries (failed loads), every request the page made, the ids in
its DOM, whether its images decoded, and a screenshot.

Chromium is Debian's `chromium` package, installed by scripts/setup.sh; a missing browser fails the test with that
advice (never a skip). The websocket client is aiohttp's, which Ray's dashboard already brings into the venv.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str:
    """$CHROMIUM, else the first of NAMES on PATH; fails the test (with what to do) when there is none."""
    found = os.environ.get("CHROMIUM") or next((p for n in NAMES if (p := shutil.which(n))), None)
    if not found:
        pytest.fail("Chromium is missing: run `bash scripts/setup.sh` (it installs Debian's chromium package), or "
                    "point $CHROMIUM at a Chromium/Chrome binary", pytrace=False)
    return found


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
    return asyncio.run(_load(chromium_path(), Path(page).resolve().as_uri(), width, height, timeout))


async def _load(binary: str, url: str, width: int, height: int, timeout: float) -> PageLoad:
    import aiohttp

    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        log = Path(profile) / "stderr.log"
        with log.open("w") as stderr:
            proc = subprocess.Popen(
                [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                 "--remote-debugging-port=0", f"--user-data-dir={profile}/data", "about:blank"],
                stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            ws_url = _devtools_url(log, proc, timeout)
            async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
                return await asyncio.wait_for(_drive(ws, url, width, height), timeout)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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


async def _drive(ws, url: str, width: int, height: int) -> PageLoad:
    result = PageLoad()
    ids = iter(range(1, 1_000_000))
    pending: dict[int, asyncio.Future] = {}
    loaded = asyncio.Event()

    def on_event(msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            result.console.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            result.console.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            result.console.append(f"log.{entry.get('level')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            result.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Network.loadingFailed":
            result.failed.append(f"{params.get('errorText')} ({params.get('requestId')})")
        elif method == "Page.loadEventFired":
            loaded.set()

    async def reader():
        async for message in ws:
            msg = json.loads(message.data)
            if "id" in msg and msg["id"] in pending:
                pending.pop(msg["id"]).set_result(msg)
            else:
                on_event(msg)

    task = asyncio.create_task(reader())

    async def send(method: str, session: str | None = None, **params) -> dict:
        n = next(ids)
        pending[n] = asyncio.get_running_loop().create_future()
        await ws.send_str(json.dumps({"id": n, "method": method, "params": params,
                                      **({"sessionId": session} if session else {})}))
        reply = await pending[n]
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    try:
        target = (await send("Target.createTarget", url="about:blank"))["targetId"]
        session = (await send("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            await send(f"{domain}.enable", session)
        await send("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                   mobile=False)
        await send("Page.navigate", session, url=url)
        await loaded.wait()
        await asyncio.sleep(0.5)  # late console messages and failed loads
        probe = ("JSON.stringify({ids: [...document.querySelectorAll('[id]')].map(e => e.id), "
                 "n: document.images.length, title: document.title, "
                 "ok: [...document.images].every(i => i.complete && i.naturalWidth > 0)})")
        value = json.loads((await send("Runtime.evaluate", session, expression=probe,
                                       returnByValue=True))["result"]["value"])
        result.ids, result.n_images, result.title, result.images_ok = value["ids"], value["n"], value["title"], \
            value["ok"]
        import base64

        shot = await send("Page.captureScreenshot", session, format="png")
        result.screenshot = base64.b64decode(shot["data"])
    finally:
        task.cancel()
    return result


def pixel_spread(png: bytes) -> float:
    """Standard deviation of the screenshot's grey levels (a blank page: ~0)."""
    import io

    import numpy as np
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).std())
