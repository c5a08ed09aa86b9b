"""The community's ``Solidarity``: crypto-kWh given to the operation's energy-poor members, once or
by a standing pledge (:mod:`gridshare.domain.solidarity` says how a pledge gives)."""

from __future__ import annotations

from dataclasses import dataclass

from web3.logs import DISCARD

from gridshare.chain.deployment import Community

BPS = 10_000


@dataclass(frozen=True)
class Gift:
    """``wh`` crypto-kWh of interval ``interval_id`` given by ``giver`` to ``recipient`` (consumed by it)."""

    giver: str
    recipient: str
    interval_id: int
    wh: int


def _gifts(community: Community, receipt) -> list[Gift]:
    return [Gift(e.args.giver, e.args.recipient, e.args.intervalId, e.args.amountWh)
            for e in community.solidarity.events.Given().process_receipt(receipt, errors=DISCARD)]


def flag(community: Community, account: str, energy_poor: bool = True) -> None:
    """Flag (or unflag) ``account`` as energy-poor (the operator, the chain's sender)."""
    community.transact(community.solidarity.functions.setEnergyPoor(account, energy_poor))


def energy_poor(community: Community) -> list[str]:
    """The members flagged energy-poor."""
    return list(community.solidarity.functions.energyPoor().call())


def pledge(community: Community, giver: str, share_bps: int) -> None:
    """``giver`` pledges ``share_bps`` basis points of its surplus (0 withdraws the pledge)."""
    community.transact(community.solidarity.functions.pledge(share_bps), giver)


def give(community: Community, giver: str, interval_id: int, recipient: str, wh: int) -> list[Gift]:
    """``giver`` gives ``wh`` of its crypto-kWh of ``interval_id`` to the energy-poor ``recipient``."""
    return _gifts(community, community.transact(community.solidarity.functions.give(interval_id, recipient, wh), giver))


def distribute(community: Community, giver: str, interval_ids: list[int], sender: str | None = None,
               gas: int | None = None) -> list[Gift]:
    """Distribute ``giver``'s pledge for ``interval_ids`` (shared by the operation, not yet
    distributed); anyone may send it (``sender``: by default the chain's sender)."""
    call = community.solidarity.functions.distribute(giver, interval_ids)
    return _gifts(community, community.transact(call, sender, gas))


def gifts(community: Community, from_block: int | None = None) -> list[Gift]:
    """Every gift so far, oldest first, from the ``Given`` events."""
    start = community.view.block("Solidarity") if from_block is None else from_block
    return [Gift(e.args.giver, e.args.recipient, e.args.intervalId, e.args.amountWh)
            for e in community.solidarity.events.Given().get_logs(from_block=start)]
