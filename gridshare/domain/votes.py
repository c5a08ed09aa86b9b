"""The members' votes in the community treasury's governance: the rule ``CommunityVotes`` computes
on-chain (docs/protocol.md, "Community treasury"), and how ``CommunityGovernor`` counts, in pure
Python, so that tests and reports check the contracts against the same arithmetic.

Per meter registered in the community's ``MeterRegistry``::

    weight = BASE_WEIGHT + min(cap_wh, verified export over the WINDOW_DAYS UTC days before to_day)
    to_day = the meter's nextIntervalStart // DAY  (the day its verified readings reached)

and 0 for a deactivated meter. Units: one vote token unit per Wh; 6 decimals, so one vote is
1,000,000 units, 1 MWh of verified export; every active meter has one vote (``BASE_WEIGHT``),
production adds up to ``cap_wh``. An account's votes are the sum of its meters' weights.
"""

from __future__ import annotations

from typing import Iterable

from gridshare.protocol.units import DAY

#: every active meter's weight, a consumer's too: one vote (token units, Wh)
BASE_WEIGHT = 1_000_000
#: the rule's window, in UTC days before the day a meter's readings reached
WINDOW_DAYS = 365
#: what production adds at most by default: 10 MWh (a deployment parameter)
DEFAULT_CAP_WH = 10_000_000
#: the vote token's decimals: one vote = 10**6 units
VOTE_DECIMALS = 6
#: GovernorCountingSimple's support values
SUPPORT = {"against": 0, "for": 1, "abstain": 2}
#: OpenZeppelin IGovernor.ProposalState, in order
PROPOSAL_STATES = ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")


def window(next_interval_start: int) -> tuple[int, int]:
    """The UTC days ``[from_day, to_day)`` whose export counts, for a meter whose verified readings
    end at ``next_interval_start``."""
    to_day = next_interval_start // DAY
    return max(to_day - WINDOW_DAYS, 0), to_day


def export_in_window(intervals: Iterable[tuple[int, int]], next_interval_start: int) -> int:
    """The verified export (Wh) of a meter's ``(interval start, export Wh)`` in its window."""
    from_day, to_day = window(next_interval_start)
    return sum(wh for start, wh in intervals if from_day * DAY <= start < to_day * DAY)


def meter_weight(export_wh: int, cap_wh: int = DEFAULT_CAP_WH, *, active: bool = True) -> int:
    """One meter's weight, in vote token units, from its export in its window."""
    if export_wh < 0 or cap_wh < 0:
        raise ValueError(f"export and cap are Wh, not {export_wh} and {cap_wh}")
    return BASE_WEIGHT + min(cap_wh, export_wh) if active else 0


def quorum(total_votes: int, quorum_percent: int) -> int:
    """The votes (for + abstain) a proposal needs: ``quorum_percent`` of all votes at its snapshot,
    rounded down (GovernorVotesQuorumFraction)."""
    return total_votes * quorum_percent // 100


def passes(for_votes: int, against_votes: int, abstain_votes: int, quorum_votes: int) -> bool:
    """GovernorCountingSimple: more for than against, and for + abstain at least the quorum."""
    return for_votes > against_votes and for_votes + abstain_votes >= quorum_votes

