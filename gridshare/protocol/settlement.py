"""The packed local settlement of ``EnergyToken.settleLocal`` and ``SettledLocally`` (pure Python).

One block per interval, big-endian, no padding::

    block = intervalId (uint64, 8 bytes) | count (uint16, 2 bytes) | count x entry
    entry = account (20 bytes) | givenWh (uint64, 8 bytes) | receivedWh (uint64, 8 bytes)

``SettledLocally(intervalId, entries)`` carries one interval's entries: :func:`decode_entries`
reads them back (what each account gave to and received from the operation in that interval).
"""

from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence

from eth_utils import to_checksum_address

__all__ = ["HEADER_BYTES", "ENTRY_BYTES", "Entry", "encode", "decode", "decode_entries"]

HEADER_BYTES = 10
ENTRY_BYTES = 36


class Entry(NamedTuple):
    """What one account gave (burned from its tokens) and received (consumed) in one interval."""

    account: str
    given_wh: int
    received_wh: int


def _entry(e: Entry) -> bytes:
    raw = bytes.fromhex(e.account.removeprefix("0x"))
    if len(raw) != 20:
        raise ValueError(f"{e.account!r} is not a 20-byte address")
    return raw + e.given_wh.to_bytes(8, "big") + e.received_wh.to_bytes(8, "big")


def encode(intervals: Iterable[tuple[int, Sequence[Entry]]]) -> bytes:
    """The settlement of ``(interval id, entries)`` blocks, in order."""
    out = bytearray()
    for interval_id, entries in intervals:
        out += interval_id.to_bytes(8, "big") + len(entries).to_bytes(2, "big")
        for e in entries:
            out += _entry(Entry(*e))
    return bytes(out)


def decode_entries(data: bytes) -> list[Entry]:
    """The entries of one interval (the ``entries`` of a ``SettledLocally`` event)."""
    if len(data) % ENTRY_BYTES:
        raise ValueError(f"{len(data)} bytes is not a whole number of {ENTRY_BYTES}-byte entries")
    return [Entry(to_checksum_address(data[p : p + 20]), int.from_bytes(data[p + 20 : p + 28], "big"),
                  int.from_bytes(data[p + 28 : p + 36], "big")) for p in range(0, len(data), ENTRY_BYTES)]


def decode(settlement: bytes) -> list[tuple[int, list[Entry]]]:
    """The ``(interval id, entries)`` blocks of a whole settlement."""
    blocks, p = [], 0
    while p < len(settlement):
        if p + HEADER_BYTES > len(settlement):
            raise ValueError(f"truncated header at byte {p}")
        interval_id = int.from_bytes(settlement[p : p + 8], "big")
        count = int.from_bytes(settlement[p + 8 : p + 10], "big")
        end = p + HEADER_BYTES + count * ENTRY_BYTES
        if end > len(settlement):
            raise ValueError(f"truncated entries in the block at byte {p}")
        blocks.append((interval_id, decode_entries(settlement[p + HEADER_BYTES : end])))
        p = end
    return blocks
