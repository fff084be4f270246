"""Load a search-space file: a plain Python module that exports `sweep = Sweep(...)`."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

from orchestrator.configs.tune import Sweep
from orchestrator.errors import UserError, problem


def load_sweep(path: str | Path) -> Sweep:
    p = Path(path)
    if not p.is_file():
        raise UserError(problem("search space", "file not found", str(path)), "cannot load the search space")
    spec = importlib.util.spec_from_file_location(f"search_space_{p.stem}", p)
    if spec is None or spec.loader is None:  # no loader for the suffix (not .py)
        raise UserError(
            problem(
                str(path), "is not a Python file: a search space is a .py module that defines `sweep = Sweep(...)`"
            ),
            "cannot load the search space",
        )
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise UserError(
            problem(f"{p}:{e.lineno}", f"does not parse: {e.msg}"), "cannot load the search space"
        ) from None
    except Exception as e:  # noqa: BLE001  (any error in the user's module is reported, not raised)
        where = next(
            (
                f"{p}:{fr.lineno}"
                for fr in reversed(traceback.extract_tb(e.__traceback__))
                if Path(fr.filename).resolve() == p.resolve()
            ),
            str(p),
        )
        raise UserError(problem(where, f"{type(e).__name__}: {e}"), "cannot load the search space") from None
    finally:
        sys.modules.pop(spec.name, None)
    sweep = getattr(module, "sweep", None)
    if not isinstance(sweep, Sweep):
        found = type(sweep).__name__ if sweep is not None else "nothing"
        raise UserError(
            problem(str(p), f"must define `sweep = Sweep(...)` (found {found})"), "cannot load the search space"
        )
    return sweep
