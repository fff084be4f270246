"""The documentation a config carries: the `# comment` written beside each dataclass field, read from the source.

    chunk_size: int = 100  # actions predicted per forward pass
    n_episodes_growth: float = 1.0  # the k-th evaluation uses n_episodes * growth^(k-1) episodes (the
    #   first seeds shared): ...           <- a comment line indented by 3 spaces continues the one above
    # LeRobot's style: a field with no comment beside it takes the comment lines right above it
    obs_type: str = "keypoints"

A subclass's comment wins over its base's (a field redefined with another default documents itself again); fields a
class inherits keep the base's comment. `--help` and the test that keeps every field documented read them here.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import textwrap
import tokenize
import typing
from typing import Any


def field_comments(cls: type) -> dict[str, str]:
    """{field name: its comment} for dataclass `cls`, its bases' fields included; "" where a field has none."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            out.update({name: text for name, text in _own_comments(klass).items() if text})
    return {f.name: out.get(f.name, "") for f in dataclasses.fields(cls)}


@functools.cache
def _own_comments(klass: type) -> dict[str, str]:
    """The comments of the fields `klass` itself declares (read once per class)."""
    try:
        source = textwrap.dedent(inspect.getsource(klass))
    except (OSError, TypeError):  # defined where the source cannot be read (a REPL, a compiled module)
        return {}
    try:
        node = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef))
    except (SyntaxError, StopIteration):
        return {}
    comments: dict[int, str] = {}  # line -> comment text
    code_lines: set[int] = set()  # lines holding code (not only a comment)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                code_lines.add(tok.start[0])
    except (tokenize.TokenError, IndentationError):
        return {}
    out: dict[str, str] = {}
    taken: set[int] = set()  # comment lines already given to a field
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        end_lineno = stmt.end_lineno or stmt.lineno  # always set by ast.parse
        lines = [line for line in range(stmt.lineno, end_lineno + 1) if line in comments]
        line = end_lineno + 1
        while line in comments and line not in code_lines and comments[line].startswith("#  "):
            lines.append(line)  # "#   ..." continues the comment above
            line += 1
        if not lines:  # LeRobot's style: the comment block right above the field
            line = stmt.lineno - 1
            while line in comments and line not in code_lines and line not in taken:
                lines.insert(0, line)
                line -= 1
        taken.update(lines)
        out[stmt.target.id] = " ".join(text for text in (comments[n][1:].strip() for n in lines) if text)
    return out


def type_name(ftype: Any) -> str:
    """A field's type as written in the source: `int`, `str | None`, `list[int]`, `dict[str, NormalizationMode]`."""
    if ftype is type(None):
        return "None"
    origin, args = typing.get_origin(ftype), typing.get_args(ftype)
    if origin is typing.Union or type(ftype).__name__ == "UnionType":
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return getattr(ftype, "__name__", str(ftype).replace("typing.", ""))
