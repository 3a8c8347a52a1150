"""The report's document model and its two renderers: Markdown and self-contained HTML.

A report is a list of :class:`Block` (headings, paragraphs, lists, tables, images,
collapsible details); :func:`render_markdown` and :func:`render_html` turn the same
list into ``report.md`` and ``report.html``, so both hold the same content. The HTML
page embeds its plots as base64 data URIs and uses inline CSS only (no external
resource at all). Inline markup: ``code`` in backticks and **bold** in double stars.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from sim.analysis.figures import Plot


@dataclass
class Block:
    """One piece of the report: kind in h, p, ul, table, img, details."""

    kind: str
    text: str = ""
    level: int = 0
    items: tuple = ()
    table: pd.DataFrame | None = None
    plot: Plot | None = None
    children: tuple = ()


def h(level: int, text: str) -> Block:
    """A heading of ``level`` (1 is the title)."""
    return Block("h", text, level=level)


def p(text: str) -> Block:
    """A paragraph."""
    return Block("p", text)


def ul(items) -> Block:
    """A bulleted list."""
    return Block("ul", items=tuple(items))


def t(df: pd.DataFrame) -> Block:
    """A table (every cell as text)."""
    return Block("table", table=df.astype(str))


def _md_cell(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md_cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def render_markdown(blocks: list[Block]) -> str:
    """The report as Markdown (plots referenced by relative path)."""
    out: list[str] = []
    for b in blocks:
        if b.kind == "h":
            out += ["#" * b.level + " " + b.text, ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "ul":
            out += [f"- {item}" for item in b.items] + [""]
        elif b.kind == "table":
            out += [_md_table(b.table), ""]
        elif b.kind == "img":
            out += [f"![{b.text}]({b.plot.relpath})", ""]
        elif b.kind == "details":
            out += [f"**{b.text}**", ""]
            out += [render_markdown(list(b.children)).rstrip("\n"), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _inline(text: str) -> str:
    s = html.escape(text, quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)


_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "max-width:1300px;margin:2em auto;padding:0 1.2em;color:#222;line-height:1.45}"
    "h1{border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:2em;"
    "border-bottom:1px solid #eee}table{border-collapse:collapse;margin:.8em 0 1.4em;"
    "font-size:13px;font-variant-numeric:tabular-nums}th,td{border:1px solid #ccc;"
    "padding:3px 8px;text-align:left;vertical-align:top}th{background:#f2f2f2}"
    "tr:nth-child(even) td{background:#fafafa}code{background:#f3f3f3;padding:0 3px;"
    "border-radius:3px}details{margin:.4em 0}summary{cursor:pointer;font-weight:600}"
    "figure{margin:1em 0 2em}figure img{max-width:100%;border:1px solid #eee}"
    "figcaption{font-size:13px;color:#555}"
)


def _render_html_blocks(blocks) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if b.kind == "h":
            out.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            out.append(b.table.to_html(index=False, escape=True, border=0, na_rep=""))
        elif b.kind == "img":
            data = base64.b64encode(b.plot.data).decode("ascii")
            alt = html.escape(b.text)
            out.append(
                f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
                f"<figcaption>{alt} ({html.escape(b.plot.relpath)})</figcaption></figure>"
            )
        elif b.kind == "details":
            out.append(f"<details><summary>{_inline(b.text)}</summary>")
            out.extend(_render_html_blocks(b.children))
            out.append("</details>")
    return out


def render_html(blocks: list[Block], title: str) -> str:
    """The report as one self-contained HTML page (inline CSS, plots as data URIs)."""
    body = "\n".join(_render_html_blocks(blocks))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f"{body}\n</body></html>\n"
    )
