"""Building blocks of the HTML report's page: escaped text, tables, collapsible details, numbers for people."""

from __future__ import annotations

import html


def table(cols: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{e(c)}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>" for cells in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def details(summary: str, body: str) -> str:
    return f"<details><summary>{e(summary)}</summary>{body}</details>"


def e(text: str) -> str:
    return html.escape(text, quote=True)


def num(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)
