"""Commands that only read files stay light: `report`, `--help` and `push` import neither torch nor Ray Train
(measured as `python -X importtime` would: which modules a fresh interpreter loaded)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "ray.train", "ray.tune")

PROBE = f"""
import contextlib, io, json, sys
from orchestrator.cli import run
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = run(sys.argv[1:], handle_signals=False)
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def loaded_by(*argv: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["report", "--help"],
        ["push", "--help"],
        ["sweep", "--help"],
        ["train", "--help"],
        ["eval", "--help"],
    ],
)
def test_help_imports_neither_torch_nor_ray_train(argv):
    out = loaded_by(*argv)
    assert out == {"code": 0, "loaded": []}, out


def test_report_of_a_finished_sweep_imports_neither_torch_nor_ray_train(tmp_path):
    from tests.unit.test_report_html import finished_sweep

    root = finished_sweep(tmp_path / "tiny")
    out = loaded_by("report", str(root))
    assert out == {"code": 0, "loaded": []}, out
    assert (root / "report" / "report.html").is_file()


def test_our_repeat_key_is_ray_tunes():
    from ray.tune.search.repeater import TRIAL_INDEX as RAY_TRIAL_INDEX

    from orchestrator.results.seeds import TRIAL_INDEX

    assert TRIAL_INDEX == RAY_TRIAL_INDEX
