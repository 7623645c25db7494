"""The report's blocks laid out as one self-contained HTML page and as Markdown.

HTML: inline CSS, figures as SVG data URIs in ``<img>`` elements with alt text, tables with
``<th scope="col">`` headers and a caption naming their CSV file, no script and nothing fetched
from anywhere. Markdown: the same blocks, figures as files beside it (``figures/<name>.svg``).
Cells are written as ``exposure ... --format table`` writes them
(:func:`exposure.io.output.format_float`), so the numbers read the same as the commands'.
"""

from __future__ import annotations

import base64
import html
import re

import numpy as np
import pandas as pd

from ..io.output import format_float
from ._document import SECTIONS, Bullets, FigureBlock, Heading, Para, TableBlock

__all__ = ["cell", "render_html", "render_markdown"]

_CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;color:#1a1a1a;
max-width:1100px;margin:0 auto;padding:0 1.2em 3em;background:#fff}
header{border-bottom:2px solid #1a1a1a;margin-bottom:1em}
h1{font-size:1.7em;margin:.8em 0 .2em}h2{font-size:1.35em;margin-top:2em;border-bottom:1px solid #999}
h3{font-size:1.1em;margin-top:1.5em}
p.meta{color:#444;margin:.2em 0 .8em}
nav ol{columns:2;padding-left:1.4em}
a{color:#0645ad}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.9em;color:#333;margin-top:.3em}
div.table{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:.82em}
caption{text-align:left;font-weight:bold;padding:.3em 0}
caption span{font-weight:normal;color:#444}
th,td{border:1px solid #bbb;padding:.15em .45em;vertical-align:top}
th{background:#eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#f6f6f6}
@media print{nav{display:none}div.table{overflow:visible}}
""".strip()


def cell(v) -> str:
    """A cell for a person, as the commands' table format writes it: floats by
    :func:`~exposure.io.output.format_float`, booleans ``true``/``false``, missing values ``–``."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return format_float(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def _numeric(col: pd.Series) -> bool:
    return col.dtype.kind in "iuf" or str(col.dtype) in ("Int64", "Float64")


def _rows(block: TableBlock):
    frame = block.frame
    shown = frame if block.limit is None else frame.head(block.limit)
    note = "" if len(shown) == len(frame) else f"first {len(shown):,} of {len(frame):,} rows"
    return shown, note


_URL = re.compile(r"(https?://[^\s<>()\"]+[^\s<>()\".,;:])")


def _html_text(text: str) -> str:
    """Escaped text, web addresses as links (a link is not a request: nothing is fetched)."""
    parts = _URL.split(text)
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(f'<a href="{html.escape(part)}">{html.escape(part)}</a>')
        else:
            out.append(html.escape(part))
    return "".join(out)


def _html_table(block: TableBlock) -> str:
    shown, note = _rows(block)
    cols = list(shown.columns)
    num = [_numeric(shown[c]) for c in cols]
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in cols)
    body = []
    for row in shown.itertuples(index=False, name=None):
        cells = "".join(f'<td class="num">{html.escape(cell(v))}</td>' if isnum else f"<td>{_html_text(cell(v))}</td>"
                        for v, isnum in zip(row, num))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{max(1, len(cols))}">(no rows)</td></tr>')
    extra = f"; {note}" if note else ""
    return (f'<div class="table"><table><caption>{html.escape(block.title)} <span>(tables/{block.name}.csv'
            f'{extra})</span></caption><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _html_figure(fig) -> str:
    data = base64.b64encode(fig.svg.encode("utf-8")).decode("ascii")
    return (f'<figure id="figure-{fig.name}"><img src="data:image/svg+xml;base64,{data}" alt="{html.escape(fig.alt)}">'
            f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>")


def render_html(title: str, subtitle: str, blocks) -> str:
    """The page: header, contents, one ``<section>`` per top-level heading."""
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
           "style-src 'unsafe-inline'\">",
           f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<header><h1>{html.escape(title)}</h1><p class=\"meta\">{html.escape(subtitle)}</p></header>",
           '<nav aria-label="Contents"><ol>']
    for b in blocks:
        if isinstance(b, Heading) and b.level == 2:
            out.append(f'<li><a href="#{b.id}">{html.escape(b.text)}</a></li>')
    out += ["</ol></nav>", "<main>"]
    open_section = False
    for b in blocks:
        if isinstance(b, Heading):
            if b.level == 2:
                if open_section:
                    out.append("</section>")
                out.append(f'<section id="{b.id}" aria-labelledby="{b.id}-h"><h2 id="{b.id}-h">{html.escape(b.text)}</h2>')
                open_section = True
            else:
                out.append(f'<h{b.level} id="{b.id}">{html.escape(b.text)}</h{b.level}>')
        elif isinstance(b, Para):
            out.append(f"<p>{_html_text(b.text)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{_html_text(x)}</li>" for x in b.items) + "</ul>")
        elif isinstance(b, TableBlock):
            out.append(_html_table(b))
        elif isinstance(b, FigureBlock):
            out.append(_html_figure(b.figure))
    if open_section:
        out.append("</section>")
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------- Markdown
def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(block: TableBlock) -> str:
    shown, note = _rows(block)
    cols = list(shown.columns)
    num = [_numeric(shown[c]) for c in cols]
    lines = [f"**{_md_escape(block.title)}** (tables/{block.name}.csv{'; ' + note if note else ''})", "",
             "| " + " | ".join(_md_escape(str(c)) for c in cols) + " |",
             "|" + "|".join("---:" if isnum else "---" for isnum in num) + "|"]
    for row in shown.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_md_escape(cell(v)) for v in row) + " |")
    if not len(shown):
        lines.append("| " + " | ".join("" for _ in cols) + " |" if cols else "| (no rows) |")
    return "\n".join(lines)


def render_markdown(title: str, subtitle: str, blocks) -> str:
    """The same blocks in Markdown; figures as ``figures/<name>.svg`` beside the file."""
    out = [f"# {title}", "", subtitle, ""]
    out.append("Contents: " + " · ".join(f"[{text}](#{sid})" for sid, text in SECTIONS
                                          if any(isinstance(b, Heading) and b.id == sid for b in blocks)))
    out.append("")
    for b in blocks:
        if isinstance(b, Heading):
            out += [f'<a id="{b.id}"></a>', "", "#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {x}" for x in b.items] + [""]
        elif isinstance(b, TableBlock):
            out += [_md_table(b), ""]
        elif isinstance(b, FigureBlock):
            f = b.figure
            out += [f"![{_md_escape(f.alt)}](figures/{f.name}.svg)", "", f"*{f.caption}*", ""]
    return "\n".join(out).rstrip("\n") + "\n"
