"""Decode a contract's custom errors into names and values people (and tests) can read."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError


#: the access-control roles of the contracts, by their hash (errors name a role by its hash)
ROLES = {keccak(text=name): name for name in ("ALLOCATOR_ROLE", "CERTIFIER_ROLE", "ESCROW_ROLE", "ISSUER_ROLE", "OPERATOR_ROLE",
                                               "PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE")}
ROLES[bytes(32)] = "DEFAULT_ADMIN_ROLE"
#: argument names that hold a unix time (expiresAt, intervalEnd, previousEnd, now, gateClosure, snapshot...)
_TIME_NAME = re.compile(r"(at|start|end|now|time|closure|deadline|snapshot)$", re.IGNORECASE)
_YEAR_2000, _YEAR_9999 = 946_684_800, 253_402_300_799


def _gloss(name: str, value: Any) -> str | None:
    """What a person reads for an error's argument: a date for a unix time, a name for a role hash."""
    if isinstance(value, bytes) and value in ROLES:
        return ROLES[value]
    if isinstance(value, int) and not isinstance(value, bool) and _TIME_NAME.search(name):
        if value == 0 or _YEAR_2000 <= value <= _YEAR_9999:  # not an interval id or a count
            return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return None


@dataclass(frozen=True)
class CustomError:
    """A decoded revert: ``MeterRegistryUnknownMeter(meterId=0x12..)``."""

    name: str
    args: dict[str, Any]

    def __str__(self) -> str:
        def show(v: Any) -> str:
            return "0x" + v.hex() if isinstance(v, bytes) else str(v)

        glosses = [f"{k} {g}" for k, v in self.args.items() if (g := _gloss(k, v)) is not None]
        readable = f" [{'; '.join(glosses)}]" if glosses else ""
        return f"{self.name}({', '.join(f'{k}={show(v)}' for k, v in self.args.items())}){readable}"


def _type(inp: Mapping[str, Any]) -> str:
    if inp["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in inp["components"]) + ")" + inp["type"][5:]
    return inp["type"]


class ErrorDecoder:
    """Knows the custom errors of a set of ABIs, keyed by their 4-byte selectors."""

    def __init__(self, abis: Iterable[Sequence[Mapping[str, Any]]]):
        self._errors: dict[bytes, Mapping[str, Any]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") == "error":
                    sig = f"{item['name']}({','.join(_type(i) for i in item['inputs'])})"
                    self._errors[function_signature_to_4byte_selector(sig)] = item

    def decode(self, data: bytes | str) -> CustomError | None:
        if isinstance(data, str):
            data = bytes.fromhex(data.removeprefix("0x"))
        item = self._errors.get(data[:4])
        if item is None:
            return None
        values = decode([_type(i) for i in item["inputs"]], data[4:])
        args = {}
        for inp, value in zip(item["inputs"], values):
            if inp["type"] == "address":
                value = to_checksum_address(value)
            args[inp["name"]] = value
        return CustomError(item["name"], args)

    def from_exception(self, exc: BaseException) -> CustomError | None:
        """The custom error carried by a web3 exception (JSON-RPC nodes) or by eth-tester's
        ``TransactionFailed`` (the embedded chain keeps the raw revert data on the exception it
        wraps), if it is one of ours."""
        seen: BaseException | None = exc
        while seen is not None:
            data = _revert_data(seen)
            if data is not None and len(data) >= 4:
                decoded = self.decode(data)
                if decoded is not None:
                    return decoded
            seen = seen.__cause__ or seen.__context__
        return None


def _revert_data(exc: BaseException) -> bytes | None:
    if isinstance(exc, (ContractCustomError, ContractLogicError, ContractPanicError)):
        data = getattr(exc, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        return None
    if exc.args:
        first = exc.args[0]
        if isinstance(first, Exception) and first.args:
            first = first.args[0]
        if isinstance(first, bytes):
            return first
        if isinstance(first, str):
            # eth-tester's eth_call path keeps only str(EVMRevert(data)), the repr of the bytes
            text = first.removeprefix("execution reverted: ")
            if text[:2] in ("b'", 'b"'):
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    return None
                return value if isinstance(value, bytes) else None
    return None
