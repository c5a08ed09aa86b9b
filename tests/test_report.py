"""Monthly reports: the R15 quantities, rates and totals, read back from the chain, written to files."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
from rich.console import Console

from gridshare.chain.operation import allocate, join
from gridshare.chain.quantities import quantities
from gridshare.domain.quantities import Quantities
from gridshare.protocol.meters import MeterKind
from gridshare.reports.community import participants_table, period, summarize, write_report

PRODUCER, FLAT_A, FLAT_B = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
T0 = int(datetime(2026, 6, 21, 10, 0, tzinfo=timezone.utc).timestamp())


def community_rows() -> list[Quantities]:
    """A producer and two flats over two intervals (Wh)."""
    return [
        Quantities(PRODUCER, T0, prod=1000, autoprod=600),
        Quantities(PRODUCER, T0 + 900, prod=500, autoprod=500),
        Quantities(FLAT_A, T0, cons=400, autocons=400),
        Quantities(FLAT_A, T0 + 900, cons=300, autocons=200),
        Quantities(FLAT_B, T0, cons=500, autocons=200),
        Quantities(FLAT_B, T0 + 900, cons=600, autocons=300),
    ]


def test_summary_of_a_two_interval_community():
    s = summarize(community_rows(), names={FLAT_A: "Flat A", PRODUCER: "Rooftop"})
    by = {p.account: p for p in s.participants}
    assert [p.label for p in s.participants] == ["Flat A", "Rooftop", "0x3333..3333"]  # names first, in order

    producer = by[PRODUCER]
    assert producer.role == "producer"
    assert (producer.totals.prod, producer.totals.autoprod, producer.totals.surplus) == (1500, 1100, 400)
    assert producer.totals.self_consumption_rate == 1100 / 1500
    assert producer.totals.local_coverage_rate is None

    a, b = by[FLAT_A].totals, by[FLAT_B].totals
    assert by[FLAT_A].role == by[FLAT_B].role == "consumer"
    assert (a.cons, a.autocons, a.complement, a.local_coverage_rate) == (700, 600, 100, 6 / 7)
    assert (b.cons, b.autocons, b.complement, b.local_coverage_rate) == (1100, 500, 600, 5 / 11)
    assert a.self_consumption_rate is None

    c = s.community
    assert (c.prod, c.autoprod, c.surplus, c.cons, c.autocons, c.complement) == (1500, 1100, 400, 1800, 1100, 700)
    assert c.self_consumption_rate == 11 / 15 and c.local_coverage_rate == 11 / 18

    # one day, two intervals of community totals
    assert [d.day for d in s.days] == [date(2026, 6, 21)]
    assert s.days[0].totals == c
    assert [(q.interval_start, q.prod, q.autoprod, q.cons, q.autocons) for q in s.intervals] == [
        (T0, 1000, 600, 900, 600), (T0 + 900, 500, 500, 900, 500)]

    out = io.StringIO()
    Console(file=out, width=200).print(participants_table(s, "June"))
    text = out.getvalue()
    assert "73.3%" in text and "85.7%" in text and "45.5%" in text and "61.1%" in text and "community" in text


def test_summary_lists_every_day_of_the_period_in_its_zone():
    start, end = period(month="2026-06", tz="Europe/Paris")
    assert datetime.fromtimestamp(start, timezone.utc) == datetime(2026, 5, 31, 22, tzinfo=timezone.utc)
    assert datetime.fromtimestamp(end, timezone.utc) == datetime(2026, 6, 30, 22, tzinfo=timezone.utc)
    # 23:00 UTC on 20 June is already the 21st in Paris
    late = int(datetime(2026, 6, 20, 23, tzinfo=timezone.utc).timestamp())
    s = summarize([Quantities(FLAT_A, late, cons=100)], tz="Europe/Paris", start=start, end=end)
    assert len(s.days) == 30 and s.days[0].day == date(2026, 6, 1)
    assert [d.day for d in s.days if d.totals.cons] == [date(2026, 6, 21)]
    assert period(day=date(2026, 6, 21)) == (T0 - 10 * 3600, T0 + 14 * 3600)


def test_quantities_from_the_chain_are_the_operations_sharing_alone(env):
    """R15 from sharing alone: AUTOPROD and AUTOCONS are what the operation settled; a token moved
    outside it (a sale, a gift) is neither, even once the receiver redeems it."""
    alice, bob, carol = env.alice, env.bob, env.carol
    plant = env.meter(alice, MeterKind.PRODUCER)
    flat_b = env.meter(bob, MeterKind.CONSUMER)
    flat_c = env.meter(carol, MeterKind.CONSUMER)
    start = env.next_start()
    s0, s1, s2 = start, start + 900, start + 1800
    join(env.c, [plant.id, flat_b.id, flat_c.id], s0 // 900)
    report = allocate(env.c, env.readings(plant, start, [0, 0, 0], [1000, 500, 800])
                      + env.readings(flat_b, start, [400, 300, 100], [0, 0, 0])
                      + env.readings(flat_c, start, [500, 600, 0], [0, 0, 0]))
    assert report.intervals == 3
    # the plant's surplus of the first interval leaves the operation: to bob, who cannot redeem it
    # (his import is covered), and of the second to carol, who redeems it against her complement
    token = env.token.functions
    env.c.transact(token.safeTransferFrom(alice, bob, s0 // 900, 100, b""), alice)
    env.c.transact(token.safeTransferFrom(alice, carol, s1 // 900, 1, b""), alice)
    env.c.transact(token.redeem(carol, s1 // 900, 1), carol)

    rows = quantities(env.c, s0, s2)  # the third interval is outside the period
    got = {(q.account, q.interval_start): (q.prod, q.autoprod, q.cons, q.autocons) for q in rows}
    # dynamic default key: min(P, C) shared pro rata of consumption, floored
    assert got == {
        (alice, s0): (1000, 900, 0, 0),
        (alice, s1): (500, 499, 0, 0),
        (bob, s0): (0, 0, 400, 400),
        (bob, s1): (0, 0, 300, 500 * 300 // 900),
        (carol, s0): (0, 0, 500, 500),
        (carol, s1): (0, 0, 600, 500 * 600 // 900),
    }
    third = {(q.account, q.interval_start): (q.prod, q.autoprod, q.cons, q.autocons)
             for q in quantities(env.c, s0, s2 + 900) if q.interval_start == s2}
    # a verified reading gives a row even without energy (carol's)
    assert third == {(alice, s2): (800, 100, 0, 0), (bob, s2): (0, 0, 100, 100), (carol, s2): (0, 0, 0, 0)}
    assert quantities(env.c, s2 + 900, s2 + 86_400) == []

    s = summarize(rows)
    assert s.community.self_consumption_rate == 1399 / 1500
    assert s.community.local_coverage_rate == (900 + 166 + 333) / 1800


@pytest.mark.parametrize("whole_month", [False, True])
def test_report_files_are_written(tmp_path, whole_month):
    names = {PRODUCER: "Rooftop", FLAT_A: "Flat A", FLAT_B: "Flat B"}
    start, end = period(month="2026-06") if whole_month else period(day=date(2026, 6, 21))
    s = summarize(community_rows(), names=names, start=start, end=end)
    paths = write_report(s, tmp_path / "out", "Test community, June 2026")
    expected = {"participants.csv", "intervals.csv", "days.csv", "days.png", "participants.png"}
    if not whole_month:
        expected.add("intervals.png")  # a one-day report also plots each interval
    assert {p.name for p in paths} == expected
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(expected)
    for p in paths:
        assert p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000

    with (tmp_path / "out" / "participants.csv").open() as f:
        people = {r["name"]: r for r in csv.DictReader(f)}
    assert set(people) == {"Rooftop", "Flat A", "Flat B"}
    assert people["Rooftop"]["produced_kwh"] == "1.500" and people["Rooftop"]["self_consumption_rate"] == "0.7333"
    assert people["Flat B"]["complement_kwh"] == "0.600" and people["Flat B"]["local_coverage_rate"] == "0.4545"
    assert people["Flat A"]["self_consumption_rate"] == ""
    with (tmp_path / "out" / "intervals.csv").open() as f:
        intervals = list(csv.DictReader(f))
    assert len(intervals) == 6
    assert intervals[0]["interval_start_utc"] == "2026-06-21T10:00:00Z"
    with (tmp_path / "out" / "days.csv").open() as f:
        assert len(list(csv.DictReader(f))) == (30 if whole_month else 1)
