"""Bring your own policy or env: a package of yours, imported by name, registers more types (LeRobot's plugins).

    python -m orchestrator train --policy.discover_packages_path=my_policies --policy.type=my_policy ...

`--policy.discover_packages_path=<module>` / `--env.discover_packages_path=<module>` (or the same keys in a config
file or a layer dict) import that module and its direct submodules (as LeRobot's `load_plugin`), before the config
is decoded, so that their `@PolicyConfig.register_subclass("name")` / `@EnvConfig.register_subclass("name")` and
`orchestrator.policies.factory.register_policy("name", PolicyClass)` run. The keys are taken out of the config:
they name code to import, not a setting of the run (LeRobot does the same).

Ray workers import the same packages: every module imported here is listed in $ROBOT_SWEEPS_PACKAGES, which the
driver passes to every Ray worker (orchestrator/runtime/ray_start.py), and the Train loop, the Tune trainable and the
evaluator actors call `import_user_packages()` first. The package must be importable there too (on PYTHONPATH or
installed on every node).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
from typing import Any

from orchestrator.errors import UserError, problem

ENV_VAR = "ROBOT_SWEEPS_PACKAGES"  # comma-separated module names, passed to every Ray worker
KEY = "discover_packages_path"
OWN_PACKAGES = ("orchestrator", "trainables", "search_spaces")
_imported: set[str] = set()


def packages() -> list[str]:
    """The modules imported for the user (this process's, or the driver's when read in a Ray worker)."""
    return [name for name in os.environ.get(ENV_VAR, "").split(",") if name]


def import_user_packages() -> None:
    """Import every module in $ROBOT_SWEEPS_PACKAGES (set by the driver): call it before decoding a config in a
    Ray worker, actor or trainable."""
    for name in packages():
        import_package(name, ENV_VAR)


def import_package(name: Any, field: str = KEY) -> None:
    """Import module `name` and its direct submodules, and list it in $ROBOT_SWEEPS_PACKAGES for the workers.
    A name that does not import is a UserError naming `field`."""
    if not isinstance(name, str) or not name.strip():
        raise UserError(problem(field, "must name an importable module, e.g. my_policies", name))
    name = name.strip()
    if name not in _imported:
        _import(name, field)
        _imported.add(name)
    if name not in packages():
        os.environ[ENV_VAR] = ",".join([*packages(), name])


def _import(name: str, field: str) -> None:
    """Import `name` and its direct submodules (as LeRobot's load_plugin)."""
    if not all(part.isidentifier() for part in name.split(".")):
        hint = (
            ": give the module's name (e.g. my_policies) and put the folder that holds it on PYTHONPATH"
            if "/" in name or name.endswith(".py")
            else ""
        )
        raise UserError(problem(field, f"is not a module name{hint}", name), "cannot import your package")
    try:
        module = importlib.import_module(name)
        for info in pkgutil.iter_modules(getattr(module, "__path__", []), name + "."):
            importlib.import_module(info.name)
    except ModuleNotFoundError as e:
        if e.name and (name == e.name or name.startswith(e.name + ".")):
            raise UserError(
                problem(
                    field,
                    f"no module named {e.name!r} can be imported: put the folder that holds "
                    "it on PYTHONPATH, or pip install it",
                    name,
                ),
                "cannot import your package",
            ) from None
        raise UserError(
            problem(field, f"importing it failed: {type(e).__name__}: {e}", name), "cannot import your package"
        ) from None
    except Exception as e:  # noqa: BLE001  (an error in the user's package is reported, not raised)
        raise UserError(
            problem(field, f"importing it failed: {type(e).__name__}: {e}", name), "cannot import your package"
        ) from None


def take_discover_keys(layer: Any, prefix: str = "") -> Any:
    """Import the module of every `discover_packages_path` in the nested dict `layer` (any section) and return the
    layer without those keys (a copy; `layer` is left as it was)."""
    if not isinstance(layer, dict):
        return layer
    out = {}
    for key, value in layer.items():
        if key == KEY:
            for name in value if isinstance(value, list) else [value]:
                import_package(name, f"{prefix}{KEY}")
        elif isinstance(value, dict):
            section = take_discover_keys(value, f"{prefix}{key}.")
            if section or not value:  # a section that only named a package is gone with its key
                out[key] = section
        else:
            out[key] = value
    return out


def remember_packages_of(cfg: Any, prefix: str = "") -> None:
    """A config built in this process (e.g. a search-space file that imports its own package): list the package
    of every config class in it that is not this project's, so that the Ray workers import it too."""
    if not dataclasses.is_dataclass(cfg):
        return
    module = type(cfg).__module__
    top = module.split(".")[0]
    if top not in OWN_PACKAGES and top != "builtins":
        where = prefix.rstrip(".") or type(cfg).__name__
        if module.startswith("search_space_"):
            raise UserError(
                problem(
                    where,
                    f"{type(cfg).__name__} is defined in the search-space file, which Ray "
                    "workers cannot import: move it into a package of yours and import that (see "
                    "README, Bring your own policy or env)",
                ),
                "invalid search space",
            )
        import_package(top, where)
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            remember_packages_of(value, f"{prefix}{f.name}.")
