"""Allocation keys against the worked example of docs (domain.md, docs/allocation.md) and as properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridshare.domain.allocation import (
    Allocation,
    ConsumerQuantities,
    DynamicCompleteKey,
    DynamicDefaultKey,
    DynamicSimpleKey,
    allocate_or_default,
    PriorityKey,
    ProducerQuantities,
    StaticKey,
    allocate_intervals,
    dynamic_default,
    per_mille,
    settle_pooled,
    split_pro_rata,
)

# the worked example: one interval, one plant, consumers A 6 kWh, B 3 kWh, C 1 kWh
PLANT_12 = {"plant": 12_000}
PLANT_5 = {"plant": 5_000}
ABC = {"A": 6_000, "B": 3_000, "C": 1_000}
THIRDS = per_mille({"A": 1, "B": 1, "C": 1})


# --------------------------------------------------------------------------------------------------
# dynamic_default and route (the building blocks the demo uses)
# --------------------------------------------------------------------------------------------------


def test_worked_example_production_above_consumption():
    shares = dynamic_default(PLANT_12, ABC)
    assert shares == {"A": 6_000, "B": 3_000, "C": 1_000}  # surplus 2 kWh


def test_worked_example_production_below_consumption():
    shares = dynamic_default(PLANT_5, ABC)
    assert shares == {"A": 3_000, "B": 1_500, "C": 500}


def test_nobody_consuming_gets_nothing():
    assert dynamic_default({"plant": 5_000}, {"A": 0}) == {"A": 0}


wh = st.integers(min_value=0, max_value=10**7)


@given(st.dictionaries(st.text(min_size=1, max_size=3), wh, min_size=1, max_size=5),
       st.dictionaries(st.text(min_size=1, max_size=3), wh, min_size=1, max_size=8))
def test_never_over_allocates_and_routes_exactly(production, consumption):
    shares = dynamic_default(production, consumption)
    assert all(0 <= shares[j] <= consumption[j] for j in consumption)
    assert sum(shares.values()) <= sum(production.values())
    assert sum(shares.values()) >= min(sum(production.values()), sum(consumption.values())) - len(consumption)
    result = settle_pooled(production, consumption, shares)
    assert result.shares == shares
    gives = split_pro_rata(sum(shares.values()), list(production.values()))
    assert [result.given(p) for p in production] == gives
    assert all(g <= production[p] for p, g in zip(production, gives))


def test_producers_give_pro_rata_of_their_production_with_one_remainder_rule():
    """Two producers (2,000 and 1,000 Wh) share 3,000 Wh among three consumers of 1,000 each: they
    give 2,000 and 1,000, as the operation settles it. Attributing each consumer's share pro rata
    (666 + 333) and its remainder Wh to the producer with most left gave 2,001 / 999."""
    production = {"p1": 2_000, "p2": 1_000}
    consumption = {"A": 1_000, "B": 1_000, "C": 1_000}
    for key in (DynamicDefaultKey(), StaticKey({"A": 333, "B": 333, "C": 334}, reallocate=True),
                PriorityKey([["A"], ["B", "C"]])):
        result = key.allocate(production, consumption)
        assert (result.given("p1"), result.given("p2")) == (2_000, 1_000), key
    # a remainder: 1,001 Wh given by producers of 1,999 and 2 Wh: floors 999 and 1; the Wh left
    # goes to the first producer with production left
    assert split_pro_rata(1_001, [1_999, 2]) == [1_000, 1]


# --------------------------------------------------------------------------------------------------
# the worked example, key by key
# --------------------------------------------------------------------------------------------------


def test_thirds_are_floored_to_333_per_mille():
    # 1/3 = 33.33...% rounded down to 0.1 % is 33.3 %: the three coefficients sum to 99.9 %
    assert THIRDS == {"A": 333, "B": 333, "C": 333}


def test_dynamic_default_worked_example_production_above_consumption():
    result = DynamicDefaultKey().allocate(PLANT_12, ABC)
    assert result.shares == {"A": 6_000, "B": 3_000, "C": 1_000}
    assert result.surplus == 2_000


def test_dynamic_default_worked_example_production_below_consumption():
    result = DynamicDefaultKey().allocate(PLANT_5, ABC)
    assert result.shares == {"A": 3_000, "B": 1_500, "C": 500}
    assert result.surplus == 0


def test_static_thirds_without_reallocation_worked_example():
    # domain.md rounds to "A 4 kWh, surplus 4 kWh". With the grid operator's rounding the coefficient
    # is 333 per-mille, not 1/3: A gets floor(333 * 12000 / 1000) = 3996 Wh (its consumption, 6000 Wh,
    # is above that), B and C are capped at their consumption (3996 > 3000, 3996 > 1000), and the
    # 4 Wh the 0.1 % floor takes from A's 4 kWh stay surplus: 12000 - 3996 - 3000 - 1000 = 4004 Wh.
    result = StaticKey(THIRDS).allocate(PLANT_12, ABC)
    assert result.shares == {"A": 3_996, "B": 3_000, "C": 1_000}
    assert result.surplus == 4_004
    assert result.consumer_quantities("A") == ConsumerQuantities(cons=6_000, autocons=3_996, complement=2_004)


def test_static_thirds_with_reallocation_worked_example():
    # B and C leave 996 + 2996 Wh of their 3996 Wh unused and the 0.1 % floor leaves 12 Wh: these
    # 4004 Wh go to A, the only one still hungry, up to its consumption (2004 Wh more); what remains
    # is the 2 kWh of surplus of dynamic default.
    result = StaticKey(THIRDS, reallocate=True).allocate(PLANT_12, ABC)
    assert result.shares == {"A": 6_000, "B": 3_000, "C": 1_000}
    assert result.surplus == 2_000


def test_r15_quantities_of_the_worked_example():
    result = StaticKey(THIRDS).allocate(PLANT_12, ABC)
    assert result.producer_quantities("plant") == ProducerQuantities(prod=12_000, autoprod=7_996, surplus=4_004)
    assert result.producer_surplus("plant") == result.surplus == 4_004
    assert result.given("plant") == 7_996
    assert result.received("C") == 1_000 and result.complement("C") == 0


def test_dynamic_simple_applies_this_intervals_percentages_to_pooled_production():
    # 50 %, 30 %, 20 % of 12 kWh offers A 6, B 3.6, C 2.4 kWh; B and C are capped at consumption
    result = DynamicSimpleKey({"A": 500, "B": 300, "C": 200}).allocate(PLANT_12, ABC)
    assert result.shares == {"A": 6_000, "B": 3_000, "C": 1_000}
    assert result.surplus == 2_000


def test_dynamic_simple_without_reallocation_leaves_capped_shares_as_surplus():
    # 20 %, 30 %, 50 % of 12 kWh offers A 2.4, B 3.6, C 6 kWh: B and C leave 0.6 + 5 kWh unused
    result = DynamicSimpleKey({"A": 200, "B": 300, "C": 500}).allocate(PLANT_12, ABC)
    assert result.shares == {"A": 2_400, "B": 3_000, "C": 1_000}
    assert result.surplus == 5_600


def test_dynamic_complete_splits_each_producers_production_by_its_own_coefficients():
    production = {"plant": 9_000, "roof": 3_000}
    key = DynamicCompleteKey({("plant", "A"): 600, ("plant", "B"): 400, ("roof", "C"): 1000})
    result = key.allocate(production, ABC)
    assert result.flows == {("plant", "A"): 5_400, ("plant", "B"): 3_000, ("roof", "C"): 1_000}
    assert result.producer_surplus("plant") == 600  # B was offered 3600 Wh for 3000 Wh consumed
    assert result.producer_surplus("roof") == 2_000


def test_dynamic_complete_cuts_offers_above_consumption_pro_rata():
    production = {"plant": 9_000, "roof": 3_000}
    key = DynamicCompleteKey({("plant", "C"): 100, ("roof", "C"): 1000})  # offers 900 + 3000 to C
    result = key.allocate(production, ABC)
    # C consumes 1000 Wh: floor(900 * 1000 / 3900) = 230, floor(3000 * 1000 / 3900) = 769
    assert result.flows == {("plant", "C"): 230, ("roof", "C"): 769}


def test_priority_serves_first_group_fully_then_shares_the_rest():
    # C (energy-poor) first: 1 kWh; A and B share the remaining 4 kWh pro rata of consumption:
    # floor(4000 * 6000 / 9000) = 2666, floor(4000 * 3000 / 9000) = 1333, 1 Wh of flooring surplus
    result = PriorityKey([["C"], ["A", "B"]]).allocate(PLANT_5, ABC)
    assert result.shares == {"A": 2_666, "B": 1_333, "C": 1_000}
    assert result.surplus == 1


def test_priority_gives_later_groups_nothing_while_an_earlier_one_is_short():
    # A and B share 5 kWh: floor(5000 * 6000 / 9000) = 3333, floor(5000 * 3000 / 9000) = 1666; the
    # 1 Wh of flooring is surplus, not given to C while A and B lack energy
    result = PriorityKey([["A", "B"], ["C"]]).allocate(PLANT_5, ABC)
    assert result.shares == {"A": 3_333, "B": 1_666, "C": 0}
    assert result.surplus == 1


def test_priority_with_one_inner_key_per_group():
    key = PriorityKey([["C"], ["A", "B"]], [DynamicDefaultKey(), StaticKey({"A": 500, "B": 500})])
    result = key.allocate(PLANT_12, ABC)  # A and B get half of the 11 kWh C left: 5500 and 3000
    assert result.shares == {"A": 5_500, "B": 3_000, "C": 1_000}
    assert result.surplus == 2_500


def test_allocate_intervals_with_one_key_or_one_key_per_interval():
    production = {"plant": [12_000, 5_000]}
    consumption = {"A": [6_000, 6_000], "B": [3_000, 3_000], "C": [1_000, 1_000]}
    same = allocate_intervals(DynamicDefaultKey(), production, consumption)
    assert [a.shares for a in same] == [ABC, {"A": 3_000, "B": 1_500, "C": 500}]
    per_interval = [DynamicSimpleKey({"A": 1000}), DynamicSimpleKey({"C": 1000})]
    assert [a.shares for a in allocate_intervals(per_interval, production, consumption)] == [
        {"A": 6_000, "B": 0, "C": 0}, {"A": 0, "B": 0, "C": 1_000}]


def test_dynamic_default_key_is_dynamic_default_settled_as_the_operation_does():
    production = {"plant": 9_000, "roof": 3_000}
    result = DynamicDefaultKey().allocate(production, ABC)
    assert result.flows == settle_pooled(production, ABC, dynamic_default(production, ABC)).flows
    assert (result.given("plant"), result.given("roof")) == (7_500, 2_500)


def test_accepts_numpy_style_integers():
    class Wh:  # what numpy.int64 offers: __index__, not an int subclass
        def __init__(self, v):
            self.v = v

        def __index__(self):
            return self.v

    result = DynamicDefaultKey().allocate({"plant": Wh(12_000)}, {k: Wh(v) for k, v in ABC.items()})
    assert result.shares == ABC


# --------------------------------------------------------------------------------------------------
# validation: a clear ValueError naming the problem
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [DynamicDefaultKey(), StaticKey(THIRDS), PriorityKey([["A", "B", "C"]])])
def test_negative_consumption_is_rejected(key):
    with pytest.raises(ValueError, match=r"consumption of 'B' is negative: -1 Wh"):
        key.allocate(PLANT_12, {**ABC, "B": -1})


def test_negative_production_is_rejected():
    with pytest.raises(ValueError, match=r"production of 'plant' is negative"):
        DynamicDefaultKey().allocate({"plant": -5}, ABC)


def test_fractional_wh_is_rejected():
    with pytest.raises(ValueError, match=r"production of 'plant' \(Wh\) must be an integer, got 1.5"):
        DynamicDefaultKey().allocate({"plant": 1.5}, ABC)


@pytest.mark.parametrize("make", [StaticKey, DynamicSimpleKey])
def test_coefficients_summing_above_1000_are_rejected(make):
    with pytest.raises(ValueError, match=r"coefficients sum to 1001 per-mille, above 1000"):
        make({"A": 334, "B": 334, "C": 333})


def test_coefficient_out_of_range_is_rejected():
    with pytest.raises(ValueError, match=r"coefficient of consumer 'A' is -1 per-mille"):
        StaticKey({"A": -1})


@pytest.mark.parametrize("key", [StaticKey({"A": 200, "D": 100}), StaticKey({"A": 200, "D": 100}, reallocate=True),
                                 DynamicSimpleKey({"A": 200, "D": 100}),
                                 DynamicCompleteKey({("plant", "A"): 200, ("plant", "D"): 100, ("roof", "A"): 500}),
                                 PriorityKey([["A", "D"], ["B", "C"]])])
def test_a_member_not_in_the_operation_in_an_interval_gets_nothing_and_stops_nothing(key):
    """A key names members for a month; one who joins later or leaves (D here, and the producer
    'roof') is simply not there in some intervals: its coefficient gives nothing then, the others
    are served as the key says (a static key used to raise, halting allocation)."""
    with_d = key.allocate(PLANT_12, {**ABC, "D": 50})
    without = key.allocate(PLANT_12, ABC)
    assert without.received("A") == with_d.received("A") and "D" not in without.consumption
    assert sum(without.received(j) for j in ABC) <= sum(PLANT_12.values())


def test_a_key_that_cannot_serve_an_interval_falls_back_to_the_default_key():
    """As the grid operator does: where the operation's key is invalid for an interval's members
    (here a consumer in no priority group), the default key applies, and the reason is kept."""
    allocation, why = allocate_or_default(PriorityKey([["A"], ["B"]]), PLANT_12, ABC)
    assert why == "consumer(s) in no priority group: 'C'"
    assert allocation.shares == DynamicDefaultKey().allocate(PLANT_12, ABC).shares
    allocation, why = allocate_or_default(PriorityKey([["A"], ["B", "C"]]), PLANT_12, ABC)
    assert why is None and allocation.shares == PriorityKey([["A"], ["B", "C"]]).allocate(PLANT_12, ABC).shares


def test_complete_coefficients_of_one_producer_above_1000_are_rejected():
    with pytest.raises(ValueError, match=r"coefficients of producer 'plant' sum to 1200 per-mille"):
        DynamicCompleteKey({("plant", "A"): 600, ("plant", "B"): 600, ("roof", "A"): 1000})


def test_consumer_in_no_priority_group_is_rejected():
    with pytest.raises(ValueError, match=r"consumer\(s\) in no priority group: 'C'"):
        PriorityKey([["A"], ["B"]]).allocate(PLANT_12, ABC)


def test_consumer_in_two_priority_groups_is_rejected():
    with pytest.raises(ValueError, match=r"consumer 'A' is in more than one priority group"):
        PriorityKey([["A"], ["A", "B"]])


def test_negative_weight_is_rejected():
    with pytest.raises(ValueError, match=r"weight of 'A' is negative"):
        per_mille({"A": -1, "B": 2})


def test_series_of_different_lengths_are_rejected():
    with pytest.raises(ValueError, match=r"series of different lengths"):
        allocate_intervals(DynamicDefaultKey(), {"plant": [1, 2]}, {"A": [1]})


def test_allocation_refuses_a_consumer_served_above_consumption():
    # what checking a contract's transfers relies on
    with pytest.raises(ValueError, match=r"consumer 'C' receives 1001 Wh, above its consumption of 1000 Wh"):
        Allocation(PLANT_12, ABC, {("plant", "C"): 1_001})


def test_allocation_refuses_a_producer_giving_above_production():
    with pytest.raises(ValueError, match=r"producer 'plant' gives 10000 Wh, above its production of 5000 Wh"):
        Allocation(PLANT_5, ABC, {("plant", "A"): 6_000, ("plant", "B"): 3_000, ("plant", "C"): 1_000})


# --------------------------------------------------------------------------------------------------
# properties: generated communities
# --------------------------------------------------------------------------------------------------

amounts = st.one_of(st.integers(min_value=0, max_value=10**6), st.sampled_from([0, 1, 2, 3, 999, 1_000, 1_001]))
PRODUCERS = ["p0", "p1", "p2"]
CONSUMERS = ["c0", "c1", "c2", "c3", "c4", "c5"]


@st.composite
def communities(draw):
    producers = draw(st.lists(st.sampled_from(PRODUCERS), min_size=1, max_size=3, unique=True))
    consumers = draw(st.lists(st.sampled_from(CONSUMERS), min_size=1, max_size=6, unique=True))
    return {p: draw(amounts) for p in producers}, {c: draw(amounts) for c in consumers}


@st.composite
def coefficients_for(draw, names):
    """Per-mille coefficients on some of ``names``, summing to at most 1000 (sometimes well below)."""
    chosen = draw(st.lists(st.sampled_from(sorted(names)), unique=True)) if names else []
    weights = {n: draw(st.integers(min_value=0, max_value=100)) for n in chosen}
    weights[None] = draw(st.integers(min_value=0, max_value=100))  # unassigned share
    coefficients = per_mille(weights)
    del coefficients[None]
    return coefficients


@st.composite
def complete_coefficients_for(draw, producers, consumers):
    out = {}
    for p in producers:
        out.update({(p, c): k for c, k in draw(coefficients_for(consumers)).items()})
    return out


@st.composite
def priority_keys(draw, consumers):
    rank = {c: draw(st.integers(min_value=0, max_value=2)) for c in consumers}
    groups = [[c for c in consumers if rank[c] == r] for r in range(3)]
    inner = [draw(st.one_of(st.just(DynamicDefaultKey()),
                            st.builds(StaticKey, coefficients_for(g), st.booleans())))
             for g in groups]
    return PriorityKey(groups, draw(st.one_of(st.none(), st.just(inner))))


@st.composite
def keys_for(draw, production, consumption):
    return draw(st.one_of(
        st.just(DynamicDefaultKey()),
        st.builds(StaticKey, coefficients_for(consumption), st.booleans()),
        st.builds(DynamicSimpleKey, coefficients_for(consumption)),
        st.builds(DynamicCompleteKey, complete_coefficients_for(production, consumption)),
        priority_keys(list(consumption)),
    ))


def check_bounds_and_conservation(result, production, consumption):
    total = sum(production.values())
    for (p, c), v in result.flows.items():
        assert p in production and c in consumption and v > 0 and isinstance(v, int)
    for p, prod in production.items():
        q = result.producer_quantities(p)
        assert q == ProducerQuantities(prod, sum(v for (i, _j), v in result.flows.items() if i == p), q.surplus)
        assert 0 <= q.autoprod <= prod and q.autoprod + q.surplus == prod
    for c, cons in consumption.items():
        q = result.consumer_quantities(c)
        assert q == ConsumerQuantities(cons, sum(v for (_i, j), v in result.flows.items() if j == c), q.complement)
        assert 0 <= q.autocons <= cons and q.autocons + q.complement == cons
    given_total = sum(result.flows.values())
    assert given_total <= total
    assert given_total + result.surplus == total
    assert sum(result.producer_surplus(p) for p in production) == result.surplus
    assert sum(result.shares.values()) == given_total


@given(st.data())
def test_every_key_never_over_allocates_and_conserves_energy(data):
    production, consumption = data.draw(communities())
    key = data.draw(keys_for(production, consumption))
    check_bounds_and_conservation(key.allocate(production, consumption), production, consumption)


@given(st.data())
def test_static_gives_each_consumer_its_coefficient_of_production_capped_at_consumption(data):
    production, consumption = data.draw(communities())
    coefficients = data.draw(coefficients_for(consumption))
    total = sum(production.values())
    expected = {j: min(c, coefficients.get(j, 0) * total // 1000) for j, c in consumption.items()}
    assert StaticKey(coefficients).allocate(production, consumption).shares == expected
    assert DynamicSimpleKey(coefficients).allocate(production, consumption).shares == expected


@given(st.data())
def test_reallocation_never_gives_less_than_without(data):
    production, consumption = data.draw(communities())
    coefficients = data.draw(coefficients_for(consumption))
    without = StaticKey(coefficients).allocate(production, consumption)
    with_ = StaticKey(coefficients, reallocate=True).allocate(production, consumption)
    assert all(with_.received(j) >= without.received(j) for j in consumption)
    assert with_.surplus <= without.surplus


@given(st.data())
def test_reallocation_leaves_only_flooring_while_a_keyed_consumer_is_hungry(data):
    production, consumption = data.draw(communities())
    coefficients = data.draw(coefficients_for(consumption))
    result = StaticKey(coefficients, reallocate=True).allocate(production, consumption)
    if any(k and result.complement(j) for j, k in coefficients.items()):
        assert result.surplus < len(consumption)  # flooring gave nobody a whole Wh


@given(communities())
def test_dynamic_default_serves_everyone_when_production_covers_consumption(community):
    production, consumption = community
    result = DynamicDefaultKey().allocate(production, consumption)
    assert result.shares == dynamic_default(production, consumption)
    if sum(production.values()) >= sum(consumption.values()):
        assert result.shares == consumption
    else:
        assert result.surplus < len(consumption)


@given(communities(), st.sampled_from(PRODUCERS), st.integers(min_value=0, max_value=10**6))
def test_dynamic_default_is_monotone_in_production(community, producer, more):
    production, consumption = community
    before = DynamicDefaultKey().allocate(production, consumption)
    after = DynamicDefaultKey().allocate({**production, producer: production.get(producer, 0) + more}, consumption)
    assert all(after.received(j) >= before.received(j) for j in consumption)


@given(communities(), st.integers(min_value=0, max_value=10**6))
def test_dynamic_default_is_monotone_in_own_consumption(community, more):
    production, consumption = community
    j = sorted(consumption)[0]
    before = DynamicDefaultKey().allocate(production, consumption)
    after = DynamicDefaultKey().allocate(production, {**consumption, j: consumption[j] + more})
    assert after.received(j) >= before.received(j)


@given(st.data())
def test_dynamic_complete_never_gives_a_pair_above_its_coefficient(data):
    production, consumption = data.draw(communities())
    coefficients = data.draw(complete_coefficients_for(production, consumption))
    result = DynamicCompleteKey(coefficients).allocate(production, consumption)
    offers = {(p, c): k * production[p] // 1000 for (p, c), k in coefficients.items()}
    assert all(v <= offers[pair] for pair, v in result.flows.items())
    for c in consumption:  # a consumer offered no more than it consumes gets every offer in full
        if sum(v for (_p, j), v in offers.items() if j == c) <= consumption[c]:
            assert all(result.flows.get(pair, 0) == v for pair, v in offers.items() if pair[1] == c)


@given(st.data())
def test_priority_serves_earlier_groups_fully_before_later_ones_get_anything(data):
    production, consumption = data.draw(communities())
    key = data.draw(priority_keys(list(consumption)))
    result = key.allocate(production, consumption)
    for g, group in enumerate(key.groups):
        if any(result.received(j) for j in group):
            assert all(result.complement(j) == 0 for earlier in key.groups[:g] for j in earlier)


@given(communities())
def test_priority_with_one_group_is_its_inner_key(community):
    production, consumption = community
    assert PriorityKey([list(consumption)]).allocate(production, consumption) == \
        DynamicDefaultKey().allocate(production, consumption)


@given(st.dictionaries(st.text(max_size=2), st.one_of(st.integers(min_value=0, max_value=10**9),
                                                      st.floats(min_value=0, max_value=1e9)), max_size=8))
def test_per_mille_floors_to_a_sum_at_most_1000(weights):
    coefficients = per_mille(weights)
    assert set(coefficients) == set(weights)
    assert all(0 <= k <= 1000 for k in coefficients.values())
    assert sum(coefficients.values()) <= 1000
    positive = sum(1 for w in weights.values() if w > 0)
    if positive:  # each coefficient loses less than 1 per-mille to the floor
        assert sum(coefficients.values()) > 1000 - positive
    for a in weights:  # a larger weight never gets a smaller coefficient
        for b in weights:
            if weights[a] >= weights[b]:
                assert coefficients[a] >= coefficients[b]
