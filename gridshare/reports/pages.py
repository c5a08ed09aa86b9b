"""The two file shapes of gridshare's statements: a CSV table and a self-contained HTML page."""

from __future__ import annotations

import csv
import html
from datetime import datetime, timezone
from pathlib import Path


def write_csv(path: Path, columns: list[str], table: list[dict[str, str]], delimiter: str = ",") -> Path:
    """``table``'s rows under ``columns``, UTF-8, with LF line ends."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n", delimiter=delimiter)
        writer.writeheader()
        writer.writerows(table)
    return path


def write_page(path: Path, title: str, intro: str, columns: list[str], table: list[dict[str, str]]) -> Path:
    """A statement page: ``intro`` (HTML, its values escaped by the caller), then the table."""
    e = html.escape
    head = "".join(f"<th>{e(col.replace('_', ' '))}</th>" for col in columns)
    body = "".join("<tr>" + "".join(f"<td>{e(r[col])}</td>" for col in columns) + "</tr>" for r in table)
    path.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
 table {{ border-collapse: collapse; font-size: 0.85rem; }}
 th, td {{ border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }}
 th {{ background: #eef5ea; }} td {{ font-variant-numeric: tabular-nums; word-break: break-all; }}
 .total {{ font-size: 1.2rem; margin: 1rem 0; }}
</style></head><body>
{intro}
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by gridshare.</p>
</body></html>
""", encoding="utf-8")
    return path
