"""The dynamic default key against the worked example of docs (domain.md) and as properties."""

from hypothesis import given
from hypothesis import strategies as st

from gridshare.allocation import dynamic_default, route


def test_worked_example_production_above_consumption():
    shares = dynamic_default({"plant": 12_000}, {"A": 6_000, "B": 3_000, "C": 1_000})
    assert shares == {"A": 6_000, "B": 3_000, "C": 1_000}  # surplus 2 kWh


def test_worked_example_production_below_consumption():
    shares = dynamic_default({"plant": 5_000}, {"A": 6_000, "B": 3_000, "C": 1_000})
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
    flows = route(production, shares)
    for j in shares:
        assert sum(v for (p, c), v in flows.items() if c == j) == shares[j]
    for p in production:
        assert sum(v for (q, c), v in flows.items() if q == p) <= production[p]


def test_route_takes_from_producers_pro_rata():
    flows = route({"plant": 9_000, "roof": 3_000}, {"A": 4_000, "B": 2_000})
    assert flows == {("plant", "A"): 3_000, ("roof", "A"): 1_000, ("plant", "B"): 1_500, ("roof", "B"): 500}
