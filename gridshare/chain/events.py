"""The events of a community's contracts, kept as they happen instead of scanned for afterwards.

An embedded chain (eth-tester) answers ``eth_getLogs`` by rebuilding every receipt of every block
in the range, in Python: one scan over a simulated week of sharing takes tens of seconds. A tool
that sends the transactions itself already holds their receipts: :class:`EventLog` keeps their
logs (:meth:`record`, given to :attr:`Community.on_receipt <gridshare.chain.deployment.Community>`) and
fetches with ``eth_getLogs`` only what happened before it started (:meth:`fetch`, e.g. when a run
resumes on anvil, where the scan is native and fast). :meth:`events` decodes one event of one
contract, in chain order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, NamedTuple

from hexbytes import HexBytes
from web3.contract import Contract

from gridshare.protocol.readings import unpack_energy

__all__ = ["EventLog", "VerifiedInterval", "verified_intervals"]


class EventLog:
    """The logs of ``contracts`` seen so far (each once), by contract and event."""

    def __init__(self, w3, contracts: list[Contract]):
        self._w3 = w3
        self._addresses = [c.address for c in contracts]
        self._by_key: dict[tuple[str, bytes], list[Any]] = defaultdict(list)
        self._decoded: dict[tuple[str, bytes], list[Any]] = defaultdict(list)
        self._seen: set[tuple[int, int]] = set()

    def _add(self, log) -> None:
        position = (log["blockNumber"], log["logIndex"])
        if position in self._seen or log["address"] not in self._addresses or not log["topics"]:
            return
        self._seen.add(position)
        self._by_key[(log["address"], bytes(HexBytes(log["topics"][0])))].append(log)

    def record(self, receipt) -> None:
        """Keep the logs of a transaction's receipt."""
        for log in receipt["logs"]:
            self._add(log)

    def fetch(self, from_block: int, to_block: int | str = "latest") -> None:
        """Keep every log of the contracts in ``[from_block, to_block]`` (one ``eth_getLogs``)."""
        for log in self._w3.eth.get_logs({"address": self._addresses, "fromBlock": from_block,
                                          "toBlock": to_block}):
            self._add(log)

    def events(self, contract: Contract, name: str) -> list:
        """The decoded ``name`` events of ``contract``, oldest first (each log is decoded once)."""
        event = contract.events[name]()
        key = (contract.address, bytes(HexBytes(event.topic)))
        logs, decoded = self._by_key.get(key, []), self._decoded[key]
        decoded += [event.process_log(log) for log in logs[len(decoded):]]
        return sorted(decoded, key=lambda e: (e.blockNumber, e.logIndex))


class VerifiedInterval(NamedTuple):
    """One interval of a ``ReadingsVerified`` event (a verified run of a meter's readings)."""

    meter_id: bytes
    interval_start: int
    import_wh: int
    export_wh: int
    block_number: int


def verified_intervals(events: Iterable, interval_seconds: int) -> Iterable[VerifiedInterval]:
    """The intervals of decoded ``ReadingsVerified`` events, in order (a signed outage has none)."""
    for e in events:
        a = e["args"]
        for k, (imp, exp) in enumerate(unpack_energy(a["energyWh"])):
            yield VerifiedInterval(a["meterId"], a["firstIntervalStart"] + k * interval_seconds, imp, exp,
                                   e["blockNumber"])
