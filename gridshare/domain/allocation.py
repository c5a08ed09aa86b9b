"""Allocation keys of collective self-consumption: how one interval's production is shared (pure Python).

A collective self-consumption operation (French *autoconsommation collective*, ACC) tells the grid
operator how each interval's local production is shared among its consumers. This module computes
that sharing for one interval, in integer Wh, for the keys of docs/allocation.md:

* :class:`StaticKey` - a fixed per-mille coefficient per consumer, with or without reallocation of
  unused shares to consumers with unmet demand;
* :class:`DynamicDefaultKey` - pro rata of consumption;
* :class:`DynamicSimpleKey` - a per-mille coefficient per consumer for this interval, on pooled production;
* :class:`DynamicCompleteKey` - a per-mille coefficient per (producer, consumer) pair for this interval;
* :class:`PriorityKey` - ordered groups of consumers, each served by an inner key from what the
  previous groups left.

Every key has one method, ``allocate(production, consumption) -> Allocation``, so a simulation can
take a key object from its configuration; :func:`allocate_intervals` runs a key (or one key per
interval) over series. :func:`per_mille` turns arbitrary weights into coefficients rounded the grid
operator's way (floored to 0.1 %, summing to at most 100 %).

Rounding rule: coefficients are integers in per-mille (0..1000, sum <= 1000); every Wh amount is
floored; what flooring leaves is surplus. An :class:`Allocation` checks on construction that no
consumer receives above its consumption and no producer gives above its production, so it also
serves to check a contract's results. No web3 here: the same code runs in simulations and tests.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Collection, Mapping, NamedTuple, Protocol, Sequence, runtime_checkable

__all__ = [
    "ALLOCATION_KEYS",
    "PER_MILLE",
    "Flows",
    "Allocation",
    "ProducerQuantities",
    "ConsumerQuantities",
    "AllocationKey",
    "StaticKey",
    "DynamicDefaultKey",
    "DynamicSimpleKey",
    "DynamicCompleteKey",
    "PriorityKey",
    "allocate_intervals",
    "allocate_or_default",
    "per_mille",
    "dynamic_default",
    "split_pro_rata",
    "settle_pooled",
    "ConsumersOnly",
]

#: The keys the engine computes, by the names a scenario uses (``allocation.key``). On-chain the
#: operation runs ``dynamic-default`` itself; the others are ``supplied`` shares
#: (:data:`gridshare.chain.deployment.KEY_MODES`).
ALLOCATION_KEYS = ("dynamic-default", "static", "priority")

PER_MILLE = 1000
"""A coefficient of ``PER_MILLE`` is 100 %; one unit is 0.1 %, the grid operator's resolution."""

Flows = dict[tuple[str, str], int]  # (producer, consumer) -> Wh


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------


def _integer(value: object, what: str) -> int:
    """``value`` as a Python int (numpy integers accepted), or a ValueError naming ``what``."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{what} must be an integer, got {value!r}") from None


def _wh(amounts: Mapping[str, int], role: str) -> dict[str, int]:
    """Validated copy of a ``participant -> Wh`` mapping: integers, none negative."""
    out: dict[str, int] = {}
    for name, value in amounts.items():
        wh = _integer(value, f"{role} of {name!r} (Wh)")
        if wh < 0:
            raise ValueError(f"{role} of {name!r} is negative: {wh} Wh")
        out[name] = wh
    return out


def _coefficient(value: object, what: str) -> int:
    k = _integer(value, f"coefficient of {what} (per-mille)")
    if not 0 <= k <= PER_MILLE:
        raise ValueError(f"coefficient of {what} is {k} per-mille, outside 0..{PER_MILLE}")
    return k


def _consumer_coefficients(coefficients: Mapping[str, int]) -> dict[str, int]:
    """Validated copy of ``consumer -> per-mille``: each in 0..1000, summing to at most 1000."""
    out = {j: _coefficient(k, f"consumer {j!r}") for j, k in coefficients.items()}
    total = sum(out.values())
    if total > PER_MILLE:
        raise ValueError(f"coefficients sum to {total} per-mille, above {PER_MILLE} (100 %)")
    return out


# --------------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------------


class ProducerQuantities(NamedTuple):
    """A producer's interval in the grid operator's terms (Enedis R15 flow), in Wh."""

    prod: int  # PROD: verified production
    autoprod: int  # AUTOPROD: production given to the operation's consumers
    surplus: int  # SURPLUS: PROD - AUTOPROD, sold to the grid


class ConsumerQuantities(NamedTuple):
    """A consumer's interval in the grid operator's terms (Enedis R15 flow), in Wh."""

    cons: int  # CONS: verified consumption
    autocons: int  # AUTOCONS: local production received
    complement: int  # COMPLEMENT: CONS - AUTOCONS, bought from the supplier


@dataclass(frozen=True)
class Allocation:
    """One interval's sharing: ``flows[(producer, consumer)]`` Wh, zero flows omitted.

    Construction checks the result: flows are positive integers between known participants, no
    consumer receives above its consumption and no producer gives above its production (so the
    total given never exceeds the total production). Build one from a contract's transfers to check
    them. The mappings are copies; do not mutate them.
    """

    production: Mapping[str, int]  # producer -> PROD (Wh)
    consumption: Mapping[str, int]  # consumer -> CONS (Wh)
    flows: Mapping[tuple[str, str], int]  # (producer, consumer) -> Wh
    _given: dict[str, int] = field(init=False, repr=False, compare=False)
    _received: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        production = _wh(self.production, "production")
        consumption = _wh(self.consumption, "consumption")
        flows: Flows = {}
        given = dict.fromkeys(production, 0)
        received = dict.fromkeys(consumption, 0)
        for (p, c), value in self.flows.items():
            wh = _integer(value, f"flow {p!r} -> {c!r} (Wh)")
            if wh < 0:
                raise ValueError(f"flow {p!r} -> {c!r} is negative: {wh} Wh")
            if p not in given:
                raise ValueError(f"flow {p!r} -> {c!r}: unknown producer {p!r}")
            if c not in received:
                raise ValueError(f"flow {p!r} -> {c!r}: unknown consumer {c!r}")
            if wh:
                flows[(p, c)] = wh
                given[p] += wh
                received[c] += wh
        for p, wh in given.items():
            if wh > production[p]:
                raise ValueError(f"producer {p!r} gives {wh} Wh, above its production of {production[p]} Wh")
        for c, wh in received.items():
            if wh > consumption[c]:
                raise ValueError(f"consumer {c!r} receives {wh} Wh, above its consumption of {consumption[c]} Wh")
        object.__setattr__(self, "production", production)
        object.__setattr__(self, "consumption", consumption)
        object.__setattr__(self, "flows", flows)
        object.__setattr__(self, "_given", given)
        object.__setattr__(self, "_received", received)

    def received(self, consumer: str) -> int:
        """AUTOCONS: Wh of local production the consumer receives."""
        return self._received[consumer]

    def complement(self, consumer: str) -> int:
        """COMPLEMENT: consumption not covered locally (``CONS - AUTOCONS``)."""
        return self.consumption[consumer] - self._received[consumer]

    def given(self, producer: str) -> int:
        """AUTOPROD: Wh of the producer's production given to the operation's consumers."""
        return self._given[producer]

    def producer_surplus(self, producer: str) -> int:
        """SURPLUS of one producer: production not given (``PROD - AUTOPROD``)."""
        return self.production[producer] - self._given[producer]

    @property
    def surplus(self) -> int:
        """Total surplus: total production minus total given."""
        return sum(self.production.values()) - sum(self._given.values())

    @property
    def shares(self) -> dict[str, int]:
        """Wh received per consumer (every consumer, zeros included)."""
        return dict(self._received)

    def producer_quantities(self, producer: str) -> ProducerQuantities:
        """PROD, AUTOPROD, SURPLUS of one producer."""
        return ProducerQuantities(self.production[producer], self.given(producer), self.producer_surplus(producer))

    def consumer_quantities(self, consumer: str) -> ConsumerQuantities:
        """CONS, AUTOCONS, COMPLEMENT of one consumer."""
        return ConsumerQuantities(self.consumption[consumer], self.received(consumer), self.complement(consumer))


# --------------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------------


@runtime_checkable
class AllocationKey(Protocol):
    """An allocation key: shares one interval's verified production among consumers."""

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        """``production``: producer -> Wh; ``consumption``: consumer -> Wh (all consumers of the interval)."""
        ...


def _pooled(production: dict[str, int], consumption: dict[str, int], shares: Mapping[str, int]) -> Allocation:
    """The allocation of per-consumer shares of pooled production, attributed to producers as the
    operation settles it (:func:`settle_pooled`): the engine and the chain agree Wh for Wh."""
    return settle_pooled(production, consumption, shares)


def _coefficient_shares(total: int, consumption: Mapping[str, int], coefficients: Mapping[str, int]) -> dict[str, int]:
    """``min(c_j, floor(k_j * P / 1000))`` per consumer; consumers without a coefficient get 0."""
    return {j: min(c, coefficients.get(j, 0) * total // PER_MILLE) for j, c in consumption.items()}


@dataclass(frozen=True)
class StaticKey:
    """Fixed per-mille coefficient per consumer on pooled production: ``min(c_j, floor(k_j * P / 1000))``.

    With ``reallocate=True``, what that leaves (unused shares, coefficients summing below 1000,
    flooring) is passed on, round after round, to consumers with unmet demand and a positive
    coefficient, pro rata of their coefficients and capped at their demand, until nobody can take
    more, production is exhausted or flooring gives nobody a whole Wh. Reallocation never gives a
    consumer less than without. Consumers absent from ``coefficients`` have coefficient 0; the
    coefficient of a member not in the operation in an interval (joining later, or gone) gives
    nothing then: its share is surplus, or reallocated.
    """

    coefficients: Mapping[str, int]
    reallocate: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "coefficients", _consumer_coefficients(self.coefficients))

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        production, consumption = _wh(production, "production"), _wh(consumption, "consumption")
        total = sum(production.values())
        shares = _coefficient_shares(total, consumption, self.coefficients)
        if self.reallocate:
            left = total - sum(shares.values())
            while left > 0:
                hungry = {j: k for j, k in self.coefficients.items()
                          if k and j in consumption and shares[j] < consumption[j]}
                weight = sum(hungry.values())
                extra = {j: min(consumption[j] - shares[j], left * k // weight) for j, k in hungry.items()}
                step = sum(extra.values())
                if step == 0:  # nobody hungry, or flooring gives nobody a whole Wh
                    break
                for j, wh in extra.items():
                    shares[j] += wh
                left -= step
        return _pooled(production, consumption, shares)


@dataclass(frozen=True)
class DynamicDefaultKey:
    """Pro rata of consumption: ``floor(min(P, C) * c_j / C)``; when ``P >= C`` everyone is fully served."""

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        production, consumption = _wh(production, "production"), _wh(consumption, "consumption")
        return _pooled(production, consumption, dynamic_default(production, consumption))


@dataclass(frozen=True)
class DynamicSimpleKey:
    """This interval's per-mille coefficient per consumer (from the operator) on pooled production.

    ``min(c_j, floor(k_j * P / 1000))``, no reallocation: the same formula as :class:`StaticKey`
    without reallocation, but the coefficients change every interval (one key per interval, see
    :func:`allocate_intervals`). Consumers absent from ``coefficients`` have coefficient 0;
    coefficients of members not in the operation in the interval give nothing.
    """

    coefficients: Mapping[str, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "coefficients", _consumer_coefficients(self.coefficients))

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        production, consumption = _wh(production, "production"), _wh(consumption, "consumption")
        return _pooled(production, consumption,
                       _coefficient_shares(sum(production.values()), consumption, self.coefficients))


@dataclass(frozen=True)
class DynamicCompleteKey:
    """This interval's per-mille coefficient per (producer, consumer) pair.

    Each producer's production is split by its own coefficients (each producer's coefficients sum
    to at most 1000): ``f_ij = floor(k_ij * p_i / 1000)``. A consumer offered more than it consumes,
    ``R_j = sum_i f_ij > c_j``, has each offer cut pro rata: ``floor(f_ij * c_j / R_j)``. Pairs
    absent from ``coefficients`` have coefficient 0, and so do pairs of a member not in the
    operation in the interval; what is not given is the producer's surplus.
    """

    coefficients: Mapping[tuple[str, str], int]

    def __post_init__(self) -> None:
        coefficients = {(p, c): _coefficient(k, f"pair {p!r} -> {c!r}") for (p, c), k in self.coefficients.items()}
        by_producer: dict[str, int] = {}
        for (p, _c), k in coefficients.items():
            by_producer[p] = by_producer.get(p, 0) + k
        for p, total in by_producer.items():
            if total > PER_MILLE:
                raise ValueError(f"coefficients of producer {p!r} sum to {total} per-mille, above {PER_MILLE} (100 %)")
        object.__setattr__(self, "coefficients", coefficients)

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        production, consumption = _wh(production, "production"), _wh(consumption, "consumption")
        # pairs of a member not in the operation in this interval give nothing
        offers = {(p, c): k * production[p] // PER_MILLE for (p, c), k in self.coefficients.items()
                  if p in production and c in consumption}
        offered = dict.fromkeys(consumption, 0)
        for (_p, c), wh in offers.items():
            offered[c] += wh
        flows = {
            (p, c): wh if offered[c] <= consumption[c] else wh * consumption[c] // offered[c]
            for (p, c), wh in offers.items()
        }
        return Allocation(production, consumption, flows)


@dataclass(frozen=True)
class PriorityKey:
    """Ordered groups of consumers (e.g. energy-poor households first), each served by an inner key.

    Group 1 is allocated the whole production by its key; group ``g + 1`` is allocated, by its own
    key, what groups ``1..g`` left of each producer's production - but only if every consumer of
    groups ``1..g`` is fully served. When a group is left short (production ran out, flooring, or a
    coefficient key without reallocation), what remains is surplus and later groups get nothing, so
    a later group never receives a Wh while an earlier one lacks any.

    ``inner`` is one key for every group, one key per group, or None: pro rata of consumption
    (:class:`DynamicDefaultKey`). Every consumer of an interval must be in exactly one group
    (members of a group not in the operation in the interval are left out of it).
    """

    groups: Sequence[Collection[str]]
    inner: AllocationKey | Sequence[AllocationKey] | None = None

    def __post_init__(self) -> None:
        groups = tuple(tuple(group) for group in self.groups)
        seen: set[str] = set()
        for group in groups:
            for name in group:
                if name in seen:
                    raise ValueError(f"consumer {name!r} is in more than one priority group")
                seen.add(name)
        inner = self.inner if self.inner is not None else DynamicDefaultKey()
        if isinstance(inner, AllocationKey):
            keys = tuple(inner for _ in groups)
        else:
            keys = tuple(inner)
            if len(keys) != len(groups):
                raise ValueError(f"{len(keys)} inner keys for {len(groups)} priority groups")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "inner", keys)

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        production, consumption = _wh(production, "production"), _wh(consumption, "consumption")
        grouped = {j for group in self.groups for j in group}
        ungrouped = sorted(set(consumption) - grouped, key=repr)
        if ungrouped:
            raise ValueError(f"consumer(s) in no priority group: {', '.join(map(repr, ungrouped))}")
        left = dict(production)
        flows: Flows = {}
        assert isinstance(self.inner, tuple)
        for group, key in zip(self.groups, self.inner):
            present = {j: consumption[j] for j in group if j in consumption}
            part = key.allocate(left, present)
            flows.update(part.flows)  # groups are disjoint: no pair is allocated twice
            for p in left:
                left[p] -= part.given(p)
            if any(part.complement(j) for j in present):
                break
        # each consumer's share attributed to producers as the operation settles it
        shares = {j: sum(wh for (_p, c), wh in flows.items() if c == j) for j in consumption}
        return settle_pooled(production, consumption, shares)


def allocate_intervals(
    key: AllocationKey | Sequence[AllocationKey],
    production: Mapping[str, Sequence[int]],
    consumption: Mapping[str, Sequence[int]],
) -> list[Allocation]:
    """Allocate every interval of equal-length series (``participant -> [Wh per interval]``).

    ``key`` is one key for all intervals (static, dynamic default, priority) or one key per interval
    (dynamic simple and complete, whose coefficients change every interval).
    """
    lengths = {len(series) for series in (*production.values(), *consumption.values())}
    if len(lengths) > 1:
        raise ValueError(f"series of different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    if isinstance(key, AllocationKey):
        keys: Sequence[AllocationKey] = [key] * n
    else:
        keys = list(key)
        if len(keys) != n:
            raise ValueError(f"{len(keys)} keys for {n} intervals")
    return [
        k.allocate({p: s[t] for p, s in production.items()}, {c: s[t] for c, s in consumption.items()})
        for t, k in enumerate(keys)
    ]


def allocate_or_default(key: AllocationKey, production: Mapping[str, int],
                        consumption: Mapping[str, int]) -> tuple[Allocation, str | None]:
    """One interval by ``key`` or, where the key cannot serve that interval's members (it raises
    ``ValueError``: e.g. a consumer in no priority group), by the default key, as the grid operator
    applies it to an interval whose key is missing or invalid. Returns the allocation and why the
    default applied (``None``: the key did). On-chain, the operation does the same for a supplied
    list that is missing or out of bounds (``DefaultKeyApplied``)."""
    try:
        return key.allocate(production, consumption), None
    except ValueError as exc:
        return DynamicDefaultKey().allocate(production, consumption), str(exc)


# --------------------------------------------------------------------------------------------------
# coefficients and the pooled building blocks
# --------------------------------------------------------------------------------------------------


def per_mille(weights: Mapping[str, int | float | Fraction]) -> dict[str, int]:
    """Per-mille coefficients from arbitrary non-negative weights, the grid operator's way.

    ``floor(1000 * w_j / sum(w))``: percentages rounded down to 0.1 %, so the sum never exceeds
    1000 (100 %) and falls short of it by less than the number of positive weights. Three equal
    weights give 333 each (99.9 %). All-zero weights give all-zero coefficients.
    """
    exact: dict[str, Fraction] = {}
    for name, w in weights.items():
        if isinstance(w, (bool, str)):
            raise ValueError(f"weight of {name!r} must be a number, got {w!r}")
        try:
            value = Fraction(w)  # exact, floats included
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"weight of {name!r} must be a finite number, got {w!r}") from None
        if value < 0:
            raise ValueError(f"weight of {name!r} is negative: {w!r}")
        exact[name] = value
    total = sum(exact.values(), Fraction(0))
    if total == 0:
        return dict.fromkeys(exact, 0)
    return {name: int(value * PER_MILLE // total) for name, value in exact.items()}


def dynamic_default(production: Mapping[str, int], consumption: Mapping[str, int]) -> dict[str, int]:
    """Each consumer's local share, pro rata of its consumption.

    ``shared = min(P, C)`` with ``P`` total production and ``C`` total consumption; consumer ``j``
    gets ``floor(shared * c_j / C)``. When ``P >= C`` everyone is fully served and ``P - C`` is
    surplus; flooring leaves at most one Wh per consumer unallocated (it becomes surplus).
    """
    production, consumption = _wh(production, "production"), _wh(consumption, "consumption")
    total_p = sum(production.values())
    total_c = sum(consumption.values())
    if total_c == 0:
        return {j: 0 for j in consumption}
    shared = min(total_p, total_c)
    return {j: shared * c // total_c for j, c in consumption.items()}


def split_pro_rata(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` Wh pro rata of ``weights`` (in order), as the SelfConsumption contract
    splits what producers give: ``floor(total * w_i / W)``, then the remainder one Wh each to the
    first with some weight left. Requires ``0 <= total <= sum(weights)``; each part ``<= w_i``."""
    weight = sum(weights)
    if not 0 <= total <= weight:
        raise ValueError(f"cannot split {total} Wh over weights summing to {weight}")
    if total == 0:
        return [0] * len(weights)
    parts = [total * w // weight for w in weights]
    rest = total - sum(parts)
    for i, w in enumerate(weights):
        if rest == 0:
            break
        if parts[i] < w:
            parts[i] += 1
            rest -= 1
    return parts


def settle_pooled(production: Mapping[str, int], consumption: Mapping[str, int],
                  shares: Mapping[str, int]) -> Allocation:
    """An interval as the SelfConsumption contract settles it: each consumer receives its share;
    the producers give the total pro rata of their production (:func:`split_pro_rata`, in the
    order of ``production``: the members' order); the pairs are routed in that order (each
    consumer, in order, is served by the producers' remaining gives, in order). The contract
    settles totals per member only, so the pairs are one valid routing of them."""
    gives = split_pro_rata(sum(shares.values()), list(production.values()))
    left = dict(zip(production, gives))
    flows: Flows = {}
    for consumer, need in shares.items():
        for producer in production:
            if need == 0:
                break
            take = min(need, left[producer])
            if take:
                flows[(producer, consumer)] = take
                left[producer] -= take
                need -= take
    return Allocation(production, consumption, flows)


@dataclass(frozen=True)
class ConsumersOnly:
    """A key applied to some consumers only (e.g. the households of a building: the shared plant,
    a member that never consumes, gets no coefficient and no priority group); the others receive
    nothing."""

    inner: AllocationKey
    consumers: frozenset[str]

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        own = {n: wh for n, wh in consumption.items() if n in self.consumers}
        result = self.inner.allocate(production, own)
        return Allocation(result.production, dict(consumption), result.flows)

