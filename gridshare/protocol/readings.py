"""Meter readings: the EIP-712 ``MeterReadings`` of the protocol (version "2"), signing, and files.

A meter (or its gateway) measures intervals ``[intervalStart, intervalStart + intervalSeconds)``:
the energy imported and exported during each and its cumulative registers at its end, all in Wh
(:class:`MeterReading`, one interval, unsigned). It signs them in **runs** of consecutive intervals
(:class:`MeterReadings`): a run continues the meter's verified readings where they end
(``previousEnd``, the registry's ``meterState(meterId).nextIntervalStart``), declares the outage
``[previousEnd, firstIntervalStart)`` if its data starts later, and carries the registers at its end.
The chain verifies a run only if it continues the meter's chain of runs: no one but the meter can
create a gap, and no reading can be skipped, backdated or replayed (docs/protocol.md).

Files of signed runs are JSON (a list of objects with the keys of :data:`COLUMNS`, the energies as
lists) or CSV (one row per run, the energies as space-separated integers); ``signature`` is the
65-byte ``r || s || v`` signature in hex. Files of unsigned readings (what ``gridshare meter sign``
reads) are CSV with one row per interval and the columns of :data:`READING_COLUMNS`.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from eth_account import Account
from eth_account.messages import encode_typed_data

from gridshare.errors import GridshareError
from gridshare.protocol import eip712
from gridshare.protocol.text_files import text_lines

DOMAIN_NAME = "gridshare"
DOMAIN_VERSION = "2"
READINGS_TYPE = [
    {"name": "meterId", "type": "bytes32"},
    {"name": "previousEnd", "type": "uint64"},
    {"name": "firstIntervalStart", "type": "uint64"},
    {"name": "importWh", "type": "uint32[]"},
    {"name": "exportWh", "type": "uint32[]"},
    {"name": "importRegisterWh", "type": "uint64"},
    {"name": "exportRegisterWh", "type": "uint64"},
]
#: The type string the registry's READINGS_TYPEHASH hashes.
READINGS_TYPE_STRING = "MeterReadings(" + ",".join(f"{f['type']} {f['name']}" for f in READINGS_TYPE) + ")"
COLUMNS = [f["name"] for f in READINGS_TYPE] + ["signature"]
READING_COLUMNS = ["meterId", "intervalStart", "importWh", "exportWh", "importRegisterWh", "exportRegisterWh"]
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
#: Intervals in a run by default: a UTC day of 15-minute intervals (runs are cut at day starts).
DAY_RUN = 96
#: The longest span of a run (its outage and its intervals) the registry accepts.
MAX_RUN_SECONDS = 31 * 86_400


def _check_uint(name: str, value: object, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise GridshareError(f"{name} must be an integer in [0, {maximum}], got {value!r}")


@dataclass(frozen=True)
class MeterReading:
    """One interval of a meter, unsigned: what a meter measured."""

    meter_id: bytes
    interval_start: int
    import_wh: int
    export_wh: int
    import_register_wh: int
    export_register_wh: int

    def __post_init__(self) -> None:
        if len(self.meter_id) != 32:
            raise GridshareError(f"meterId must be 32 bytes, got {len(self.meter_id)}")
        _check_uint("intervalStart", self.interval_start, UINT64_MAX)
        _check_uint("importWh", self.import_wh, UINT32_MAX)
        _check_uint("exportWh", self.export_wh, UINT32_MAX)
        _check_uint("importRegisterWh", self.import_register_wh, UINT64_MAX)
        _check_uint("exportRegisterWh", self.export_register_wh, UINT64_MAX)


@dataclass(frozen=True)
class MeterReadings:
    """A run of a meter's consecutive intervals, as the meter signs it (EIP-712 ``MeterReadings``)."""

    meter_id: bytes
    previous_end: int
    first_interval_start: int
    import_wh: tuple[int, ...]
    export_wh: tuple[int, ...]
    import_register_wh: int
    export_register_wh: int

    def __post_init__(self) -> None:
        if len(self.meter_id) != 32:
            raise GridshareError(f"meterId must be 32 bytes, got {len(self.meter_id)}")
        object.__setattr__(self, "import_wh", tuple(self.import_wh))
        object.__setattr__(self, "export_wh", tuple(self.export_wh))
        for name in ("previous_end", "first_interval_start", "import_register_wh", "export_register_wh"):
            _check_uint(name, getattr(self, name), UINT64_MAX)
        for name in ("import_wh", "export_wh"):
            for v in getattr(self, name):
                _check_uint(name, v, UINT32_MAX)
        if len(self.import_wh) != len(self.export_wh):
            raise GridshareError(f"a run has as many imports as exports ({len(self.import_wh)} and {len(self.export_wh)})")
        if self.first_interval_start < self.previous_end:
            raise GridshareError(f"a run's first interval ({self.first_interval_start}) comes at or after "
                                 f"its previousEnd ({self.previous_end})")
        if not self.import_wh and self.first_interval_start == self.previous_end:
            raise GridshareError("an empty run must declare an outage (previousEnd before firstIntervalStart)")

    def __len__(self) -> int:
        return len(self.import_wh)

    def end(self, interval_seconds: int) -> int:
        """The end of the run's last interval (of its outage, for an outage alone)."""
        return self.first_interval_start + len(self.import_wh) * interval_seconds

    def interval_starts(self, interval_seconds: int) -> range:
        return range(self.first_interval_start, self.end(interval_seconds), interval_seconds)

    def readings(self, interval_seconds: int) -> list[MeterReading]:
        """The run's intervals, their registers counted back from the run's end."""
        out = []
        imp_reg, exp_reg = self.import_register_wh, self.export_register_wh
        for start, imp, exp in reversed(list(zip(self.interval_starts(interval_seconds), self.import_wh, self.export_wh))):
            out.append(MeterReading(self.meter_id, start, imp, exp, imp_reg, exp_reg))
            imp_reg, exp_reg = imp_reg - imp, exp_reg - exp
        return out[::-1]

    def message(self) -> dict:
        return {
            "meterId": self.meter_id,
            "previousEnd": self.previous_end,
            "firstIntervalStart": self.first_interval_start,
            "importWh": list(self.import_wh),
            "exportWh": list(self.export_wh),
            "importRegisterWh": self.import_register_wh,
            "exportRegisterWh": self.export_register_wh,
        }

    def typed_data(self, chain_id: int, registry: str) -> dict:
        """The full EIP-712 message a meter signs, for the registry ``registry`` on ``chain_id``."""
        return eip712.typed_data(DOMAIN_NAME, DOMAIN_VERSION, chain_id, registry, "MeterReadings", READINGS_TYPE,
                                 self.message())

    def digest(self, chain_id: int, registry: str) -> bytes:
        return eip712.digest(self.typed_data(chain_id, registry))

    def sign(self, key, chain_id: int, registry: str) -> SignedReadings:
        """Sign with ``eth_account`` typed-data signing (``key``: a private key or LocalAccount)."""
        key = getattr(key, "key", key)
        signed = Account.sign_typed_data(key, full_message=self.typed_data(chain_id, registry))
        return SignedReadings(self, bytes(signed.signature))


@dataclass(frozen=True)
class SignedReadings:
    run: MeterReadings
    signature: bytes  # r (32) || s (32) || v (1)

    def __post_init__(self) -> None:
        if len(self.signature) != 65:
            raise GridshareError(f"a signature is 65 bytes, got {len(self.signature)}")

    def as_call_arg(self) -> tuple:
        """The ``IMeterRegistry.SignedReadings`` tuple for ``submitReadings``."""
        r, sig = self.run, self.signature
        return (r.meter_id, r.previous_end, r.first_interval_start, list(r.import_wh), list(r.export_wh),
                r.import_register_wh, r.export_register_wh, sig[64], sig[:32], sig[32:64])

    def recover(self, chain_id: int, registry: str) -> str:
        """The address that signed this run for that registry and chain."""
        return Account.recover_message(
            encode_typed_data(full_message=self.run.typed_data(chain_id, registry)), signature=self.signature
        )

    def to_row(self, lists: bool = True) -> dict:
        """A file row; energies as lists (JSON) or space-separated strings (CSV)."""
        r = self.run
        return {
            "meterId": "0x" + r.meter_id.hex(),
            "previousEnd": r.previous_end,
            "firstIntervalStart": r.first_interval_start,
            "importWh": list(r.import_wh) if lists else " ".join(map(str, r.import_wh)),
            "exportWh": list(r.export_wh) if lists else " ".join(map(str, r.export_wh)),
            "importRegisterWh": r.import_register_wh,
            "exportRegisterWh": r.export_register_wh,
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_row(cls, row: object, where: str = "") -> SignedReadings:
        if not isinstance(row, dict):
            raise GridshareError(f"{where}expected an object with the keys {', '.join(COLUMNS)}")
        missing = [c for c in COLUMNS if row.get(c) is None or (c not in ("importWh", "exportWh") and row.get(c) == "")]
        if missing:
            raise GridshareError(f"{where}missing {', '.join(missing)}")
        try:
            run = MeterReadings(
                bytes.fromhex(str(row["meterId"]).removeprefix("0x")),
                _int(row["previousEnd"]),
                _int(row["firstIntervalStart"]),
                _ints(row["importWh"]),
                _ints(row["exportWh"]),
                _int(row["importRegisterWh"]),
                _int(row["exportRegisterWh"]),
            )
            return cls(run, bytes.fromhex(str(row["signature"]).removeprefix("0x")))
        except (ValueError, TypeError) as exc:
            raise GridshareError(f"{where}{exc}") from None
        except GridshareError as exc:
            raise GridshareError(f"{where}{exc}") from None


def pack_energy(import_wh: Sequence[int], export_wh: Sequence[int]) -> bytes:
    """A run's energies as ``ReadingsVerified``'s ``energyWh`` carries them: per interval, its
    importWh then its exportWh, each a big-endian uint32 (8 bytes an interval)."""
    return b"".join(i.to_bytes(4, "big") + e.to_bytes(4, "big") for i, e in zip(import_wh, export_wh, strict=True))


def unpack_energy(energy_wh: bytes) -> list[tuple[int, int]]:
    """The (importWh, exportWh) of each interval of a ``ReadingsVerified`` event's ``energyWh``."""
    if len(energy_wh) % 8:
        raise GridshareError(f"energyWh holds 8 bytes per interval, got {len(energy_wh)} bytes")
    return [(int.from_bytes(energy_wh[k:k + 4], "big"), int.from_bytes(energy_wh[k + 4:k + 8], "big"))
            for k in range(0, len(energy_wh), 8)]


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def _ints(value: object) -> tuple[int, ...]:
    if isinstance(value, str):
        return tuple(int(v) for v in value.split())
    if isinstance(value, list):
        return tuple(_int(v) for v in value)
    raise ValueError(f"expected a list of integers, got {value!r}")


def series_to_readings(
    meter_id: bytes,
    interval_starts: Sequence[int],
    import_wh: Sequence[int],
    export_wh: Sequence[int],
    *,
    import_register_wh: int = 0,
    export_register_wh: int = 0,
) -> list[MeterReading]:
    """Readings of one meter from per-interval energies, with its registers advancing from the given
    values (the registers before the first interval)."""
    if not len(interval_starts) == len(import_wh) == len(export_wh):
        raise GridshareError("interval starts, import and export series must have the same length")
    readings = []
    imp_reg, exp_reg = import_register_wh, export_register_wh
    for start, imp, exp in zip(interval_starts, import_wh, export_wh):
        imp_reg += imp
        exp_reg += exp
        readings.append(MeterReading(meter_id, start, imp, exp, imp_reg, exp_reg))
    return readings


def to_runs(
    readings: Iterable[MeterReading],
    interval_seconds: int,
    *,
    previous_end: dict[bytes, int] | int | None = None,
    run_intervals: int = DAY_RUN,
) -> list[MeterReadings]:
    """Cut each meter's readings into runs, in order: a run ends at every multiple of
    ``run_intervals`` intervals since the epoch (with the default, at each UTC day's start for
    15-minute intervals) and where the readings skip intervals; the next run then declares that
    outage. A meter's first run continues from ``previous_end`` (per meter, or one value for all:
    its ``nextIntervalStart`` on-chain), or from its first interval when not given.

    Refuses a meter's readings that repeat an interval or whose registers do not advance by the
    interval's energy between consecutive intervals (the chain could not check them inside a run).
    """
    if run_intervals < 1:
        raise GridshareError("a run has at least one interval")
    by_meter: dict[bytes, list[MeterReading]] = defaultdict(list)
    for r in readings:
        by_meter[r.meter_id].append(r)
    runs: list[MeterReadings] = []
    for meter_id, rows in by_meter.items():
        rows.sort(key=lambda r: r.interval_start)
        where = f"meter 0x{meter_id.hex()[:12]}..: "
        for r in rows:
            if r.interval_start % interval_seconds:
                raise GridshareError(f"{where}interval start {r.interval_start} is not a multiple of {interval_seconds} s")
        if isinstance(previous_end, dict):
            cursor = previous_end.get(meter_id, rows[0].interval_start)
        else:
            cursor = rows[0].interval_start if previous_end is None else previous_end
        if rows[0].interval_start < cursor:
            raise GridshareError(f"{where}a reading at {rows[0].interval_start} comes before previousEnd {cursor}")
        chunk: list[MeterReading] = []

        def flush() -> None:
            nonlocal cursor, chunk
            if not chunk:
                return
            runs.append(MeterReadings(meter_id, cursor, chunk[0].interval_start,
                                      tuple(r.import_wh for r in chunk), tuple(r.export_wh for r in chunk),
                                      chunk[-1].import_register_wh, chunk[-1].export_register_wh))
            cursor = chunk[-1].interval_start + interval_seconds
            chunk = []

        for i, r in enumerate(rows):
            if chunk:
                last = chunk[-1]
                if r.interval_start == last.interval_start:
                    raise GridshareError(f"{where}two readings of the interval starting {r.interval_start}")
                contiguous = r.interval_start == last.interval_start + interval_seconds
                if contiguous and (r.import_register_wh - last.import_register_wh != r.import_wh
                                   or r.export_register_wh - last.export_register_wh != r.export_wh):
                    raise GridshareError(f"{where}the registers at {r.interval_start} do not advance by the "
                                         "interval's energy from the previous interval")
                if not contiguous or (r.interval_start // interval_seconds) % run_intervals == 0:
                    flush()
            # an outage longer than a run may span is declared in outage-only runs first, carrying
            # the registers of the reading before it (or before this one, for the first)
            longest = (MAX_RUN_SECONDS - interval_seconds) // interval_seconds * interval_seconds
            while not chunk and r.interval_start - cursor > longest:
                before = rows[i - 1] if i else None
                registers = ((before.import_register_wh, before.export_register_wh) if before else
                             (r.import_register_wh - r.import_wh, r.export_register_wh - r.export_wh))
                runs.append(MeterReadings(meter_id, cursor, cursor + longest, (), (), *registers))
                cursor += longest
            chunk.append(r)
        flush()
    return runs


def save_signed(path: Path, runs: Iterable[SignedReadings]) -> Path:
    """Write signed runs as CSV or JSON, chosen by the file's extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps([s.to_row() for s in runs], indent=1) + "\n")
    else:
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(s.to_row(lists=False) for s in runs)
    return path


def load_signed(path: Path) -> list[SignedReadings]:
    """Read signed runs from CSV or JSON; a bad row is an error naming the file and row."""
    if path.suffix.lower() == ".json":
        if not path.exists():
            raise GridshareError(f"{path} not found")
        try:
            rows = json.loads(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise GridshareError(f"{path}: not a UTF-8 text file") from None
        except json.JSONDecodeError as exc:
            raise GridshareError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(rows, list):
            raise GridshareError(f"{path}: expected a JSON list of signed runs")
        return [SignedReadings.from_row(row, f"{path} item {i}: ") for i, row in enumerate(rows)]
    reader = csv.DictReader(text_lines(path, "a signed-runs file"))
    if reader.fieldnames is None or not set(COLUMNS) <= set(reader.fieldnames):
        raise GridshareError(f"{path}: the header must name the columns {','.join(COLUMNS)}")
    return [SignedReadings.from_row(row, f"{path} line {i}: ") for i, row in enumerate(reader, start=2)]


def save_unsigned(path: Path, readings: Iterable[MeterReading]) -> Path:
    """Write unsigned per-interval readings as CSV (the columns of :data:`READING_COLUMNS`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(READING_COLUMNS)
        writer.writerows(["0x" + r.meter_id.hex(), r.interval_start, r.import_wh, r.export_wh, r.import_register_wh,
                          r.export_register_wh] for r in readings)
    return path


def load_unsigned(path: Path) -> list[MeterReading]:
    """Read unsigned per-interval readings (CSV with the columns of :data:`READING_COLUMNS`)."""
    reader = csv.DictReader(text_lines(path, "a readings file"))
    if reader.fieldnames is None or not set(READING_COLUMNS) <= set(reader.fieldnames):
        raise GridshareError(f"{path}: the header must name the columns {','.join(READING_COLUMNS)}")
    out = []
    for line, row in enumerate(reader, start=2):
        try:
            out.append(MeterReading(bytes.fromhex((row["meterId"] or "").removeprefix("0x")),
                                    *(int(row[c] or "") for c in READING_COLUMNS[1:])))
        except (ValueError, GridshareError) as exc:
            raise GridshareError(f"{path} line {line}: {exc}") from None
    return out
