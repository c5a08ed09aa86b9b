"""The operation's key file for the grid operator: ``;``-separated, a time column and one column
per member, the coefficients in percent with one decimal (:mod:`gridshare.domain.key_file`)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from gridshare.domain.key_file import KeyRow, percent
from gridshare.reports.pages import write_csv


def write_key_file(path: Path, columns: dict[str, str], rows: list[KeyRow], *, interval_seconds: int,
                   tz: str = "Europe/Paris") -> Path:
    """``columns``: member -> column name (its meter point, or meterId). The time column is the
    interval's start in ``tz``, with its UTC offset (so the autumn's repeated hour is unambiguous);
    intervals without production are not written (nothing to share)."""
    zone = ZoneInfo(tz)
    header = ["horodate", *columns.values()]
    table = []
    for row in rows:
        line = {"horodate": datetime.fromtimestamp(row.start, timezone.utc).astimezone(zone).isoformat()}
        line.update({name: percent(row.coefficients.get(member, 0)) for member, name in columns.items()})
        table.append(line)
    return write_csv(path, header, table, delimiter=";")
