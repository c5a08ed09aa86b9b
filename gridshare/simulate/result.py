"""What a simulation produces: its participants as they exist on-chain, and its result (rows of
the reports, checks, timings). Types only: :mod:`gridshare.simulate.simulation` fills them,
:mod:`gridshare.simulate.report` writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from gridshare.simulate.community import Participant
from gridshare.simulate.scenario import Scenario


@dataclass
class SimParticipant:
    """A participant of the scenario as it exists on-chain: its account, its meter and the meter's key."""

    name: str
    role: str
    energy_poor: bool
    account: str
    meter_id: bytes
    meter_key: LocalAccount
    capacity_w: int
    profile: Participant

    @property
    def hex(self) -> str:
        return "0x" + self.meter_id.hex()


@dataclass
class SimulationResult:
    scenario: Scenario
    out_dir: Path
    offset_seconds: int  # on-chain time = scenario time + offset
    intervals: int
    participants: list[dict]  # the rows of participants.csv
    rows: list[dict]  # the rows of intervals.csv
    trades: list[dict]  # the rows of trades.csv
    gas: list[dict]  # the rows of gas.csv
    timings: dict[str, float]
    certificates: list[dict]
    checks: dict[str, int]  # what was compared with the engines (count of comparisons)
    mismatches: list[str]  # where the chain and the engines differ (the run raises if any)
    orders: list[dict] = field(default_factory=list)  # the rows of orders.csv
    gifts: list[dict] = field(default_factory=list)  # the rows of solidarity.csv
    vote: dict = field(default_factory=dict)  # the treasury's proposal: state, votes for, against, abstaining
    files: dict[str, Path] = field(default_factory=dict)
    resumed: dict[str, int] = field(default_factory=dict)  # what a rerun found done
