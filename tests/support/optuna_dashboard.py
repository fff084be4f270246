"""The real optuna-dashboard server on a study file, read over its HTTP API (what a user's browser reads)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def optuna_dashboard(storage: Path):
    """Start `optuna-dashboard <storage>` on a free port; yields a function: study name -> its trials (the API's
    JSON: state, values, params, user_attrs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = Path(sys.executable).with_name("optuna-dashboard")
    proc = subprocess.Popen(
        [str(binary), str(storage), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"

    def get(path: str) -> dict:
        return json.loads(urllib.request.urlopen(url + path, timeout=10).read())

    try:
        deadline = time.time() + 60
        while True:
            try:
                studies = {s["study_name"]: s["study_id"] for s in get("/studies")["study_summaries"]}
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, proc.stdout.read().decode(errors="ignore")
                time.sleep(0.3)
        yield lambda name: get(f"/studies/{studies[name]}?after=0")["trials"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
