"""The community's ``SolarReward``: one token per MWh of a solar meter's verified export (SolarCoin's rule).

A claim mints to the meter's owner one whole token (10**18 units) per 1,000,000 Wh of the meter's
verified export not yet rewarded, counted to the start of the UTC day its verified readings reached;
the remainder (< 1 MWh) carries to the next claim. Anyone may send a claim: the tokens always go to
the owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.logs import DISCARD

from gridshare.chain.deployment import Community, ContractReverted

#: Wh of verified export per whole token, and base units of a whole token (18 decimals)
WH_PER_TOKEN = 1_000_000
TOKEN_UNIT = 10**18


@dataclass(frozen=True)
class Reward:
    """Where a meter's reward stands: ``tokens`` whole tokens claimable now (covering ``wh``), out of
    ``verified_wh`` counted so far, of which ``rewarded_wh`` were already rewarded."""

    meter_id: bytes
    tokens: int
    wh: int
    verified_wh: int
    rewarded_wh: int

    @property
    def carried_wh(self) -> int:
        """Wh verified but below a whole MWh once the claimable tokens are claimed."""
        return self.verified_wh - self.rewarded_wh - self.wh


@dataclass(frozen=True)
class Claimed:
    """A claim that went through: ``tokens`` whole tokens minted to ``owner``; the meter's Wh
    rewarded so far are ``rewarded_wh``."""

    meter_id: bytes
    owner: str
    tokens: int
    rewarded_wh: int
    gas_used: int


def claimable(community: Community, meter_id: bytes) -> Reward:
    """The meter's reward now; a meter the contract refuses (unknown, not solar) raises
    :class:`ContractReverted` naming the error."""
    functions = community.reward.functions
    try:
        tokens, wh, verified = functions.claimable(meter_id).call()
        rewarded = functions.rewardedWh(meter_id).call()
    except Exception as exc:  # noqa: BLE001 - decoded below; anything else is not ours to name
        error = community.errors.from_exception(exc)
        if error is None:
            raise
        raise ContractReverted(error) from None
    return Reward(meter_id, tokens, wh, verified, rewarded)


def claim(community: Community, meter_id: bytes, sender: str | None = None) -> Claimed:
    """Claim the meter's reward (sent by ``sender``, by default the chain's sender; the tokens go to
    the meter's owner). Refused (:class:`ContractReverted`) below one MWh not yet rewarded."""
    receipt = community.transact(community.reward.functions.claim(meter_id), sender)
    [event] = community.reward.events.RewardClaimed().process_receipt(receipt, errors=DISCARD)
    return Claimed(meter_id, event.args.owner, event.args.tokens, event.args.rewardedWh, receipt["gasUsed"])
