"""The layers of docs/architecture.md hold: import-linter's contracts (.importlinter) pass, and every package and
top-level module of orchestrator/ is placed in a layer (a new one cannot slip past the contract unplaced)."""

import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout and proc.stdout.count("KEPT") >= 2


def test_every_module_of_orchestrator_has_a_layer():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:layers"]["layers"]
    placed = set(re.findall(r"orchestrator\.\w+", layers))
    top = {f"orchestrator.{p.stem}" for p in (ROOT / "orchestrator").glob("*.py") if not p.stem.startswith("__")}
    top |= {f"orchestrator.{p.parent.name}" for p in (ROOT / "orchestrator").glob("*/__init__.py")}
    assert top - placed == set(), f"place these in a layer of .importlinter: {sorted(top - placed)}"
