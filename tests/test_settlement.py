"""gridshare.protocol.settlement: the packed settlement of EnergyToken.settleLocal, both ways (no chain)."""

from __future__ import annotations

import pytest

from gridshare.protocol.settlement import Entry, decode, decode_entries, encode

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_blocks_round_trip():
    blocks = [(7, [Entry(ALICE, 80, 0), Entry(BOB, 0, 80)]), (9, [Entry(BOB, 5, 3), Entry(ALICE, 0, 2)])]
    data = encode(blocks)
    assert len(data) == 2 * (10 + 2 * 36)
    assert data[:10] == (7).to_bytes(8, "big") + (2).to_bytes(2, "big")
    assert decode(data) == blocks
    assert decode_entries(data[10:82]) == blocks[0][1]


def test_malformed_bytes_are_refused():
    data = encode([(7, [Entry(ALICE, 1, 1)])])
    with pytest.raises(ValueError, match="truncated header at byte 46"):
        decode(data + b"\0" * 9)
    with pytest.raises(ValueError, match="truncated entries in the block at byte 0"):
        decode(data[:-1])
    with pytest.raises(ValueError, match="35 bytes is not a whole number of 36-byte entries"):
        decode_entries(data[10:45])
    with pytest.raises(ValueError, match="is not a 20-byte address"):
        encode([(7, [Entry("0x1234", 1, 1)])])
