"""Meter readings: the EIP-712 ``MeterReading`` of the protocol, signing, and reading files.

A reading covers one interval ``[intervalStart, intervalStart + intervalSeconds)``: the energy
imported and exported during it and the meter's cumulative registers at its end, all in Wh.
Files of signed readings are CSV (one header row, the columns of :data:`COLUMNS`) or JSON (a list of
objects with those keys); ``signature`` is the 65-byte ``r || s || v`` signature in hex.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from gridshare.errors import GridshareError

DOMAIN_NAME = "gridshare"
DOMAIN_VERSION = "1"
READING_TYPE = [
    {"name": "meterId", "type": "bytes32"},
    {"name": "intervalStart", "type": "uint64"},
    {"name": "importWh", "type": "uint64"},
    {"name": "exportWh", "type": "uint64"},
    {"name": "importRegisterWh", "type": "uint64"},
    {"name": "exportRegisterWh", "type": "uint64"},
]
FIELDS = [f["name"] for f in READING_TYPE]
COLUMNS = FIELDS + ["signature"]
UINT64_MAX = 2**64 - 1


def interval_id(interval_start: int, interval_seconds: int) -> int:
    """The protocol's interval id: the EnergyToken id of that interval."""
    return interval_start // interval_seconds


@dataclass(frozen=True)
class MeterReading:
    meter_id: bytes
    interval_start: int
    import_wh: int
    export_wh: int
    import_register_wh: int
    export_register_wh: int

    def __post_init__(self) -> None:
        if len(self.meter_id) != 32:
            raise GridshareError(f"meterId must be 32 bytes, got {len(self.meter_id)}")
        for name in ("interval_start", "import_wh", "export_wh", "import_register_wh", "export_register_wh"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= UINT64_MAX:
                raise GridshareError(f"{name} must be an integer in [0, 2^64), got {value!r}")

    def message(self) -> dict:
        return {
            "meterId": self.meter_id,
            "intervalStart": self.interval_start,
            "importWh": self.import_wh,
            "exportWh": self.export_wh,
            "importRegisterWh": self.import_register_wh,
            "exportRegisterWh": self.export_register_wh,
        }

    def typed_data(self, chain_id: int, registry: str) -> dict:
        """The full EIP-712 message a meter signs, for the registry ``registry`` on ``chain_id``."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "MeterReading": READING_TYPE,
            },
            "primaryType": "MeterReading",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": chain_id,
                "verifyingContract": registry,
            },
            "message": self.message(),
        }

    def digest(self, chain_id: int, registry: str) -> bytes:
        signable = encode_typed_data(full_message=self.typed_data(chain_id, registry))
        return keccak(b"\x19" + signable.version + signable.header + signable.body)

    def sign(self, key, chain_id: int, registry: str) -> SignedReading:
        """Sign with ``eth_account`` typed-data signing (``key``: a private key or LocalAccount)."""
        key = getattr(key, "key", key)
        signed = Account.sign_typed_data(key, full_message=self.typed_data(chain_id, registry))
        return SignedReading(self, bytes(signed.signature))


@dataclass(frozen=True)
class SignedReading:
    reading: MeterReading
    signature: bytes  # r (32) || s (32) || v (1)

    def __post_init__(self) -> None:
        if len(self.signature) != 65:
            raise GridshareError(f"a signature is 65 bytes, got {len(self.signature)}")

    def as_call_arg(self) -> tuple:
        """The ``IMeterRegistry.SignedReading`` tuple for ``submitReadings``."""
        r = self.reading
        sig = self.signature
        return (r.meter_id, r.interval_start, r.import_wh, r.export_wh, r.import_register_wh,
                r.export_register_wh, sig[64], sig[:32], sig[32:64])

    def recover(self, chain_id: int, registry: str) -> str:
        """The address that signed this reading for that registry and chain."""
        return Account.recover_message(
            encode_typed_data(full_message=self.reading.typed_data(chain_id, registry)), signature=self.signature
        )

    def to_row(self) -> dict[str, str | int]:
        r = self.reading
        return {
            "meterId": "0x" + r.meter_id.hex(),
            "intervalStart": r.interval_start,
            "importWh": r.import_wh,
            "exportWh": r.export_wh,
            "importRegisterWh": r.import_register_wh,
            "exportRegisterWh": r.export_register_wh,
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_row(cls, row: dict, where: str = "") -> SignedReading:
        missing = [c for c in COLUMNS if row.get(c) in (None, "")]
        if missing:
            raise GridshareError(f"{where}missing {', '.join(missing)}")
        try:
            reading = MeterReading(
                bytes.fromhex(str(row["meterId"]).removeprefix("0x")),
                *(int(row[c]) for c in FIELDS[1:]),
            )
            return cls(reading, bytes.fromhex(str(row["signature"]).removeprefix("0x")))
        except ValueError as exc:
            raise GridshareError(f"{where}{exc}") from None
        except GridshareError as exc:
            raise GridshareError(f"{where}{exc}") from None


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


def save_signed(path: Path, readings: Iterable[SignedReading]) -> Path:
    """Write signed readings as CSV or JSON, chosen by the file's extension."""
    rows = [s.to_row() for s in readings]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, indent=1) + "\n")
    else:
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return path


def load_signed(path: Path) -> list[SignedReading]:
    """Read signed readings from CSV or JSON; a bad row is an error naming the file and row."""
    if not path.exists():
        raise GridshareError(f"{path} not found")
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise GridshareError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(rows, list):
            raise GridshareError(f"{path}: expected a JSON list of readings")
        return [SignedReading.from_row(row, f"{path} item {i}: ") for i, row in enumerate(rows)]
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not set(COLUMNS) <= set(reader.fieldnames):
            raise GridshareError(f"{path}: the header must name the columns {','.join(COLUMNS)}")
        return [SignedReading.from_row(row, f"{path} line {i}: ") for i, row in enumerate(reader, start=2)]
