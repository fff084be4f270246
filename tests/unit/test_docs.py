"""The README and the documentation site (docs/, mkdocs.yml) stay true: every command they show is run by a named test
or says why not, every module path they name exists, the README's links into docs/ resolve, the README stays short,
and the site builds in strict mode (a broken link or anchor, or a page left out of the nav, fails it)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND_LANGUAGES = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*(run by|not run):\s*(.*?)\s*-->\s*$")
TEST_ID = re.compile(r"^(tests/[\w/]+\.py)::(\w+)(\[.*\])?$")
MODULE_PATH = re.compile(r"(?<![\w./-])((?:orchestrator|trainables)/[\w/]*\w\.py)\b")
README_LINES = 250


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def fenced_blocks(text: str) -> list[tuple[int, str]]:
    """(0-based line of the opening fence, its language) for every fenced code block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match:
            fence = match.group(2)
            blocks.append((i, match.group(3).lower()))
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                i += 1
        i += 1
    return blocks


def marker_before(lines: list[str], fence_line: int) -> tuple[str, str] | None:
    """The marker on the line before the fence, or on the line before a blank line before it."""
    before = fence_line - 1
    if before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0:
        return None
    match = MARKER.match(lines[before])
    return (match.group(1), match.group(2)) if match else None


@cache
def _defined_tests(test_file: str) -> frozenset[str]:
    tree = ast.parse((ROOT / test_file).read_text())
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
    )


def command_blocks():
    for page in PAGES:
        lines = page.read_text().splitlines()
        for line, language in fenced_blocks(page.read_text()):
            if language in COMMAND_LANGUAGES:
                yield page, line, marker_before(lines, line)


def test_the_pages_show_commands():
    """The check below has something to check (a parser that found no block would pass everything)."""
    blocks = list(command_blocks())
    assert len(blocks) > 20 and {page.name for page, _, _ in blocks} >= {"README.md", "user-guide.md"}


def test_every_command_block_is_run_by_a_test_or_says_why_not():
    problems = []
    for page, line, marker in command_blocks():
        where = f"{_rel(page)}:{line + 1}"
        if marker is None:
            problems.append(f"{where}: no <!-- run by: ... --> or <!-- not run: ... --> before this block")
            continue
        kind, body = marker
        if kind == "not run":
            if len(body) < 10:
                problems.append(f"{where}: 'not run' needs a reason")
            continue
        ids = [t.strip() for t in body.split(";", 1)[0].split(",")]
        if not ids or ids == [""]:
            problems.append(f"{where}: 'run by' names no test")
        for test_id in ids:
            match = TEST_ID.match(test_id)
            if not match:
                problems.append(f"{where}: {test_id!r} is not tests/<path>.py::<test>")
            elif not (ROOT / match.group(1)).is_file():
                problems.append(f"{where}: {match.group(1)} does not exist")
            elif match.group(2) not in _defined_tests(match.group(1)):
                problems.append(f"{where}: {match.group(1)} defines no {match.group(2)}")
    assert not problems, "\n".join(problems)


def test_the_marker_check_finds_what_is_wrong():
    text = (
        "<!-- run by: tests/unit/test_docs.py::test_readme_is_short -->\n```bash\nls\n```\n\n"
        "<!-- not run: needs a GPU -->\n\n```sh\nls\n```\n"
        "```console\n$ ls\n```\n"
        "```text\n$ not a command block\n```\n"
    )
    lines = text.splitlines()
    found = [(language, marker_before(lines, line)) for line, language in fenced_blocks(text)]
    assert found == [
        ("bash", ("run by", "tests/unit/test_docs.py::test_readme_is_short")),
        ("sh", ("not run", "needs a GPU")),
        ("console", None),
        ("text", None),
    ]
    assert TEST_ID.match("tests/e2e/test_x.py::test_y[a-b]").group(2) == "test_y"  # parametrized ids


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= README_LINES, f"README.md has {n} lines (at most {README_LINES}: the rest belongs in docs/)"


def test_every_module_path_named_exists():
    """`orchestrator/...py` and `trainables/...py` in the README and the docs: as modules move, the text follows."""
    missing = []
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            for path in MODULE_PATH.findall(line):
                if not (ROOT / path).is_file():
                    missing.append(f"{_rel(page)}:{number}: {path}")
    assert not missing, "named but not there:\n" + "\n".join(missing)


def _slug(heading: str) -> str:
    """A heading's anchor; for headings of words, spaces, colons, commas and parentheses, MkDocs (toc's slugify) and
    GitHub agree on it."""
    text = re.sub(r"[^\w\s-]", "", re.sub(r"`", "", heading)).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _github_slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    """The anchors of the page's headings (outside code blocks) on which the site and GitHub agree."""
    anchors, fence = set(), None
    for line in page.read_text().splitlines():
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(2)
        elif fence is not None:
            fence = None if line.strip().startswith(fence) else fence
        elif (heading := re.match(r"^#{1,6}\s+(.*?)\s*#*$", line)) and _slug(heading[1]) == _github_slug(heading[1]):
            anchors.add(_slug(heading[1]))
    return anchors


def test_readme_links_into_docs_resolve():
    """README.md is read on GitHub, outside the site: its relative links (anchors included) are checked here."""
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert any(link.startswith("docs/") for link in links)
    broken = []
    for link in links:
        if re.match(r"^[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else ROOT / "README.md"
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and anchor not in _anchors(target):
            broken.append(f"{link}: no heading with that anchor (on GitHub and in the site alike)")
    assert not broken, "\n".join(broken)


def test_the_site_builds_in_strict_mode(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file() and (
        tmp_path / "site" / "architecture" / "index.html"
    ).is_file()
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize(
    "heading, slug",
    [
        ("Seeds as a dimension", "seeds-as-a-dimension"),
        ("Several objectives: the choice from the front", "several-objectives-the-choice-from-the-front"),
    ],
)
def test_anchors_are_the_same_in_the_site_and_on_github(heading, slug):
    assert _slug(heading) == _github_slug(heading) == slug
