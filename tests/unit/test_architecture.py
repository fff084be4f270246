"""The layers of docs/architecture.md hold: import-linter's contracts (.importlinter) pass, and every package and
top-level module of orchestrator/ is placed in a layer (a new one cannot slip past the contract unplaced). Inside the
layers: no import circle among the modules, and no module uses another's private (underscore) name."""

import ast
import configparser
import re
import subprocess
import sys
from pathlib import Path

import grimp

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


def test_no_import_circle_among_the_modules():
    """A module that imports one that imports it back (directly or through others, at the top or inside a function)
    depends on the order modules are first imported; the shared piece belongs in a module both import."""
    graph = grimp.build_graph("orchestrator", "trainables")
    circles = {  # one chain per circle: module -> imported -> ... -> module
        frozenset(back): " -> ".join([module, *back])
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if (back := graph.find_shortest_chain(importer=imported, imported=module))
    }
    assert not circles, "import circles:\n" + "\n".join(sorted(circles.values()))


def test_no_module_uses_another_modules_private_name():
    """What several modules share is public in its home (no underscore) and documented there. `import x as _x` (a public
    name under a private alias) is fine; `from m import _x` and `m._x` (m a project module) are not."""
    ours = ("orchestrator", "trainables", "benchmarks")

    def is_module(dotted: str) -> bool:
        path = ROOT.joinpath(*dotted.split("."))
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()

    found = []
    for path in sorted(p for top in ours for p in (ROOT / top).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        modules = {}  # local name -> a project module it names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in ours):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {alias.name}")
                    elif node.module and is_module(f"{node.module}.{alias.name}"):
                        modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                modules.update(
                    {a.asname or a.name.split(".")[0]: a.name for a in node.names if a.name.startswith(ours)}
                )
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr} ({modules[node.value.id]})"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ]
    assert not found, "private names used outside their module:\n" + "\n".join(found)


def _says_why(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or among the imports, blank lines and comments just above it."""
    i = lineno - 1
    if "#" in lines[i]:
        return True
    while i > 0 and (not lines[i - 1].strip() or lines[i - 1].lstrip().startswith(("from ", "import ", "#"))):
        i -= 1
        if "#" in lines[i]:
            return True
    return False


def test_an_import_inside_a_function_says_why():
    """The project's own modules are imported at the top of a module, unless a comment says why not (keeping torch
    or Ray out of a light command, a refusal before they load)."""
    silent = []
    for path in sorted([*ROOT.joinpath("orchestrator").rglob("*.py"), *ROOT.joinpath("trainables").rglob("*.py")]):
        text = path.read_text()
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                ours = [n for n in names if n.split(".")[0] in ("orchestrator", "trainables")]
                if ours and not _says_why(lines, node.lineno):
                    silent.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not silent, "\n".join(silent)
