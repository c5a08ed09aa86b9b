"""Members' monthly statements at the operation's local price: the amounts, their rounding, and
the files."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from gridshare.domain.billing import MemberMonth
from gridshare.domain.quantities import Totals
from gridshare.reports.bills import write_bills

PRICE = Decimal("0.15")


def test_a_member_owes_its_local_energy_and_earns_what_it_gave_at_the_local_price():
    # a prosumer: produced 10 kWh, gave 6.789 locally; consumed 4 kWh, 1.234 of them local
    m = MemberMonth("0xA", "flat 1", Totals(prod=10_000, autoprod=6_789, cons=4_000, autocons=1_234), PRICE)
    assert (m.owes, m.earns, m.balance) == (Decimal("0.19"), Decimal("1.02"), Decimal("0.83"))  # 0.1851, 1.01835
    assert (m.totals.complement, m.totals.surplus) == (2_766, 3_211)  # from its supplier, to the grid


def test_amounts_round_half_up_to_the_cent_once_per_month():
    assert MemberMonth("0xA", "a", Totals(autocons=100), PRICE).owes == Decimal("0.02")  # 0.015
    assert MemberMonth("0xA", "a", Totals(autocons=33), PRICE).owes == Decimal("0.00")  # 0.00495
    assert MemberMonth("0xA", "a", Totals(), PRICE).balance == Decimal("0.00")


@pytest.mark.parametrize("price", [Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity")])
def test_a_local_price_is_a_finite_amount_of_at_least_zero(price):
    with pytest.raises(ValueError, match="a local price is a finite amount >= 0 per kWh"):
        MemberMonth("0xA", "a", Totals(), price)


def test_the_statements_are_one_csv_and_a_page_per_member(tmp_path):
    months = [MemberMonth("0xA", "flat 1", Totals(cons=4_000, autocons=1_234), PRICE),
              MemberMonth("0xB", "rooftop/plant", Totals(prod=9_000, autoprod=1_234), PRICE)]
    paths = write_bills(months, tmp_path, month="2026-06")
    assert [p.name for p in paths] == ["bills-2026-06.csv", "bill-2026-06-flat_1.html", "bill-2026-06-rooftop_plant.html"]
    rows = list(csv.DictReader(paths[0].open()))
    assert [(r["member"], r["owes"], r["earns"], r["balance"]) for r in rows] == [
        ("flat 1", "0.19", "0.00", "-0.19"), ("rooftop/plant", "0.00", "0.19", "0.19")]
    assert b"\r\n" not in paths[0].read_bytes()
    page = paths[1].read_text()
    assert "The member pays 0.19 EUR." in page and "flat 1" in page
    assert "The member is paid 0.19 EUR." in paths[2].read_text()


def test_gifts_to_and_from_energy_poor_neighbours_are_on_the_statement_and_free(tmp_path):
    months = [MemberMonth("0xA", "flat 1", Totals(cons=4_000, autocons=1_234), PRICE, gifts_received_wh=500),
              MemberMonth("0xB", "plant", Totals(prod=9_000, autoprod=1_234), PRICE, gifts_given_wh=500),
              MemberMonth("0xC", "flat 2", Totals(cons=1_000), PRICE)]
    assert [m.balance for m in months] == [Decimal("-0.19"), Decimal("0.19"), Decimal("0.00")]  # gifts cost nothing
    paths = write_bills(months, tmp_path, month="2026-06")
    rows = list(csv.DictReader(paths[0].open()))
    assert [(r["gifts_given_kwh"], r["gifts_received_kwh"]) for r in rows] == [
        ("0.000", "0.500"), ("0.500", "0.000"), ("0.000", "0.000")]
    assert "received 0.500 kWh from neighbours' gifts (free of charge)" in paths[1].read_text()
    assert "gave 0.500 kWh to energy-poor neighbours (free of charge)" in paths[2].read_text()
    assert "Solidarity" not in paths[3].read_text()
