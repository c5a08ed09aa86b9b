"""The grid operator's (Enedis) per-step CSV files, read once for every use (docs/enedis.md).

Enedis publishes load curves and the results of an operation as ';'-separated CSV with French
headers, one row per meter point (PRM), quantity and step: ``Identifiant PRM``, ``Horodate`` (the
**end** of the step, Europe/Paris local time, with or without its UTC offset), ``Valeur``, ``Pas``
(the step as an ISO 8601 duration, ``PT10M``, ``PT15M``, ``PT30M``, ``PT60M``), and optionally
``Unité`` (``W``: the average power over the step; ``Wh``: the energy of the step) and
``Grandeur métier`` (``CONS``, ``PROD``, or a quantity of the operation such as ``AUTOCONS``).
Other columns (``Date de début``, ``Nature``, ``Indice de vraisemblance``...) are ignored.

:func:`read_steps` returns every row as a :class:`StepValue` in exact Wh (a :class:`Fraction`: 1,001 W
over 30 minutes is 500.5 Wh); converting to whole Wh on an interval grid is the caller's
(:mod:`gridshare.protocol.load_curve`). Refused, in one line naming the file, the line and what to
do: a header without the required columns, a unit it does not know, an empty or negative or
unreadable value, a time that is not a step's end or does not exist in Paris, two values of a
series for the same step, a series whose step changes, and a gap in a series.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from gridshare.errors import GridshareError
from gridshare.protocol.text_files import text_lines
from gridshare.protocol.units import utc_text

#: Enedis's times are French legal time.
PARIS = ZoneInfo("Europe/Paris")
#: The columns every file must have (accents and case ignored).
REQUIRED = ("identifiant prm", "horodate", "valeur", "pas")
STEPS = {"PT5M": 300, "PT10M": 600, "PT15M": 900, "PT30M": 1800, "PT60M": 3600, "PT1H": 3600}
#: Wh per unit of a value, per second of step (W) or per step (Wh).
UNITS = {"W": (Fraction(1, 3600), True), "KW": (Fraction(1000, 3600), True),
         "WH": (Fraction(1), False), "KWH": (Fraction(1000), False)}


@dataclass(frozen=True)
class StepValue:
    """One row: what a meter point did during one step, in exact Wh."""

    prm: str
    quantity: str  # Grandeur métier in upper case, "" when the file has no such column
    end: int  # unix seconds: the end of the step
    seconds: int  # the step's length
    wh: Fraction
    line: int

    @property
    def start(self) -> int:
        return self.end - self.seconds


def _key(header: str) -> str:
    text = unicodedata.normalize("NFKD", header.strip().lstrip("\ufeff")).encode("ascii", "ignore").decode()
    return " ".join(text.lower().split())


def read_steps(path: Path, *, units: tuple[str, ...] = ("W",), default_unit: str = "W") -> list[StepValue]:
    """Every row of ``path``, checked; ``units`` the ``Unité`` values accepted (``default_unit`` when
    the file has no such column)."""
    reader = csv.reader(text_lines(path, "an Enedis export"), delimiter=";")
    first = next(reader, None)
    if first is None:
        raise GridshareError(f"{path} is empty; give the CSV Enedis exports")
    header = [_key(h) for h in first]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise GridshareError(f"{path} line 1: unknown columns {';'.join(h for h in header if h) or '(none)'}: an Enedis "
                             "per-step file has the ';'-separated columns Identifiant PRM;Horodate;Valeur;Pas "
                             f"(missing {', '.join(missing)}); export the load curve as CSV, not the Excel file")
    col = {name: header.index(name) for name in header}
    unit_col, quantity_col = col.get("unite"), col.get("grandeur metier")
    rows: list[StepValue] = []
    seen: dict[tuple[str, str, int], int] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        where = f"{path} line {number}: "
        if len(cells) < len(header):
            raise GridshareError(f"{where}{len(cells)} cells where the header names {len(header)}; fix the row")

        def cell(name: str) -> str:
            return cells[col[name]].strip()

        prm = cell("identifiant prm")
        if not prm:
            raise GridshareError(f"{where}no Identifiant PRM; every row names its meter point")
        quantity = cells[quantity_col].strip().upper() if quantity_col is not None else ""
        unit = (cells[unit_col].strip() if unit_col is not None else "") or default_unit
        if unit.upper() not in {u.upper() for u in units}:
            raise GridshareError(f"{where}unit {unit!r}: this file takes {' or '.join(units)}; export the "
                                 "values in that unit")
        step = STEPS.get(cell("pas").upper())
        if step is None:
            raise GridshareError(f"{where}step {cell('pas')!r}: expected PT10M, PT15M, PT30M or PT60M; export the curve "
                                 "at the meter's step")
        raw = cell("valeur")
        if not raw:
            raise GridshareError(f"{where}no Valeur (a gap in the curve); export a period without missing "
                                 "data, or cut the file at the gap")
        try:
            value = Fraction(Decimal(raw.replace(",", ".").replace(" ", "")))
        except (InvalidOperation, ValueError):
            raise GridshareError(f"{where}Valeur {raw!r} is not a number (decimals with a comma or a point)") from None
        if value < 0:
            raise GridshareError(f"{where}negative Valeur {raw}: a load curve is the power drawn (CONS) or "
                                 "injected (PROD), each positive; give each direction in its own rows")
        end = _end(cell("horodate"), where, (prm, quantity), seen)
        if end % step:
            raise GridshareError(f"{where}Horodate {cell('horodate')!r} is not the end of a {step // 60}-minute step; "
                                 "check the Pas column or the time")
        if (prm, quantity, end) in seen:
            raise GridshareError(f"{where}a second value of PRM {prm} {quantity or ''} for the step ending "
                                 f"{cell('horodate')} (first on line {seen[(prm, quantity, end)]}); keep one")
        seen[(prm, quantity, end)] = number
        per, per_second = UNITS[unit.upper()]
        rows.append(StepValue(prm, quantity, end, step, value * per * (step if per_second else 1), number))
    _check_series(path, rows)
    return rows


def _end(text: str, where: str, series: tuple[str, str], seen: dict[tuple[str, str, int], int]) -> int:
    """The unix time of a step's end written in Paris time; a time repeated at the autumn change is
    its second occurrence when the first is already taken."""
    try:
        when = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        raise GridshareError(f"{where}Horodate {text!r} is not a time YYYY-MM-DD HH:MM:SS (Paris time, the "
                             "end of the step, optionally with its offset +01:00 or +02:00)") from None
    if when.tzinfo is not None:
        return int(when.timestamp())
    first, second = (int(when.replace(tzinfo=PARIS, fold=f).timestamp()) for f in (0, 1))
    if datetime.fromtimestamp(first, PARIS).replace(tzinfo=None) != when:
        raise GridshareError(f"{where}Horodate {text!r} does not exist in Paris (the clocks skip that hour "
                             "in spring); give times with their offset, or fix the row")
    if first != second and (*series, first) in seen:
        return second  # 02:30 twice on the last Sunday of October: CEST, then CET
    return first


def _check_series(path: Path, rows: list[StepValue]) -> None:
    """One step per series, no gap between its first and last step."""
    by_series: dict[tuple[str, str], list[StepValue]] = {}
    for r in rows:
        by_series.setdefault((r.prm, r.quantity), []).append(r)
    for (prm, quantity), series in by_series.items():
        name = f"PRM {prm}" + (f" {quantity}" if quantity else "")
        if len({r.seconds for r in series}) > 1:
            other = next(r for r in series if r.seconds != series[0].seconds)
            raise GridshareError(f"{path} line {other.line}: {name} changes step from {series[0].seconds // 60} "
                                 f"to {other.seconds // 60} minutes; export one step per file (or per PRM)")
        series.sort(key=lambda r: r.end)
        for before, after in zip(series, series[1:]):
            if after.end != before.end + before.seconds:
                raise GridshareError(f"{path} line {after.line}: {name} has a gap: no value from "
                                     f"{utc_text(before.end)} to {utc_text(after.start)}; export a period "
                                     "without missing data, or cut the file at the gap")
