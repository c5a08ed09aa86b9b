"""Files of the grid operator (Enedis), docs/enedis.md: load curves in, signed as a meter's readings
and verified on the chain; the operation's results back, reconciled with the chain's."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from conftest import SALT, one_line_error
from gridshare.chain.operation import allocate, join
from gridshare.chain.owners import owners
from gridshare.chain.quantities import quantities
from gridshare.domain.reconcile import reconcile
from gridshare.errors import GridshareError
from gridshare.protocol.enedis_csv import read_steps
from gridshare.protocol.load_curve import to_intervals
from gridshare.protocol.meters import MeterKind, meter_id, save_keystore
from gridshare.protocol.readings import load_signed
from gridshare.protocol.repartition import read_repartition
from gridshare.reports.reconcile import write_reconciliation

PARIS = ZoneInfo("Europe/Paris")
HEADER = ("Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;Etape métier;Unité;"
          "Horodate;Valeur;Nature;Pas;Indice de vraisemblance;Etat complémentaire")
PRM = "30000000000001"
PASSWORD = "correct horse"


def curve(path, rows, *, bom=True, header=HEADER):
    """A load curve as Enedis exports it: rows (prm, flow, local end time, value, step)."""
    lines = [header] + [f"{p};2027-01-01;2028-01-01;PA;{flow};BRUT;W;{end};{value};B;{step};0;0"
                        for p, flow, end, value, step in rows]
    path.write_text(("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def day_rows(day: date, values, step="PT30M", prm=PRM, flow="CONS"):
    """One value per step of a Paris day, in file order: the local end of each step, the autumn
    change's repeated hour written twice (naive local times, as the portal writes them)."""
    minutes = int(step[2:-1])
    start = datetime.combine(day, datetime.min.time(), PARIS)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS)
    t, out = start.timestamp(), []
    while t < end.timestamp():
        t += minutes * 60
        local = datetime.fromtimestamp(t, PARIS).strftime("%Y-%m-%d %H:%M:%S")
        out.append((prm, flow, local, values[len(out) % len(values)], step))
    return out


def test_a_30_minute_curve_gives_exact_wh_in_15_minute_intervals(tmp_path):
    path = curve(tmp_path / "c.csv", [(PRM, "CONS", "2027-06-21 00:30:00", "1001", "PT30M"),
                                      (PRM, "CONS", "2027-06-21 01:00:00", "1000,5", "PT30M"),
                                      (PRM, "CONS", "2027-06-21 01:30:00", "3", "PT30M")])
    steps = read_steps(path)
    t0 = int(datetime(2027, 6, 20, 22, 0, tzinfo=timezone.utc).timestamp())  # 00:00 in Paris (CEST)
    assert [s.start for s in steps] == [t0, t0 + 1800, t0 + 3600]  # Horodate is the step's end
    got = to_intervals(steps, 900)[(PRM, "CONS")]
    # 500.5 Wh, 500.25 Wh, 1.5 Wh: cumulative 500.5, 1000.75, 1002.25 floored to 500, 1000, 1002
    assert list(got.items()) == [(t0, 250), (t0 + 900, 250), (t0 + 1800, 250), (t0 + 2700, 250),
                                 (t0 + 3600, 1), (t0 + 4500, 1)]
    assert to_intervals(steps, 1800)[(PRM, "CONS")] == {t0: 500, t0 + 1800: 500, t0 + 3600: 2}
    odd = curve(tmp_path / "odd.csv", [(PRM, "CONS", "2027-06-21 00:30:00", "2002", "PT30M")])
    assert list(to_intervals(read_steps(odd), 900)[(PRM, "CONS")].values()) == [501, 500]  # remainder first
    hourly = curve(tmp_path / "h.csv", [(PRM, "CONS", "2027-06-21 01:00:00", "1003", "PT60M")])
    assert list(to_intervals(read_steps(hourly), 900)[(PRM, "CONS")].values()) == [253, 250, 250, 250]
    tens = curve(tmp_path / "t.csv", [(PRM, "CONS", f"2027-06-21 00:{m}:00", "600", "PT10M") for m in (10, 20, 30)])
    assert list(to_intervals(read_steps(tens), 900)[(PRM, "CONS")].values()) == [150, 150]  # 3 x 100 Wh


def test_dst_days_have_46_and_50_steps_in_order(tmp_path):
    spring = read_steps(curve(tmp_path / "s.csv", day_rows(date(2027, 3, 28), ["1000"])))
    autumn = read_steps(curve(tmp_path / "a.csv", day_rows(date(2027, 10, 31), ["1000"])))
    assert len(spring) == 46 and len(autumn) == 50
    for steps in (spring, autumn):
        assert all(b.start == a.end for a, b in zip(steps, steps[1:]))
    assert sum(to_intervals(autumn, 900)[(PRM, "CONS")].values()) == 50 * 500
    assert len(to_intervals(spring, 900)[(PRM, "CONS")]) == 92


def _cli(gs, path, *extra):
    return gs("readings", "import-enedis", str(path), "--point", PRM, "--keystore", "k.json", "--out", "o.json",
              "--manifest", "m.json", *extra)


@pytest.mark.parametrize("rows, header, expected", [
    ([(PRM, "CONS", "2027-06-21 00:30:00", "1", "PT30M")], "Date;Consommation (kWh)",
     "line 1: unknown columns date;consommation (kwh)"),
    ([(PRM, "CONS", "2027-06-21 00:30:00", "1", "PT30M"), (PRM, "CONS", "2027-06-21 01:30:00", "1", "PT30M")],
     HEADER, "line 3: PRM 30000000000001 CONS has a gap"),
    ([(PRM, "CONS", "2027-06-21 00:30:00", "1", "PT30M"), (PRM, "CONS", "2027-06-21 00:30:00", "2", "PT30M")],
     HEADER, "line 3: a second value of PRM 30000000000001 CONS"),
    ([(PRM, "CONS", "2027-06-21 00:30:00", "-5", "PT30M")], HEADER, "line 2: negative Valeur -5"),
    ([(PRM, "CONS", "2027-06-21 00:30:00", "1", "PT30M"), (PRM, "CONS", "2027-06-21 00:40:00", "1", "PT10M")],
     HEADER, "line 3: PRM 30000000000001 CONS changes step from 30 to 10 minutes"),
    ([(PRM, "CONS", "2027-06-21 00:30:00", "", "PT30M")], HEADER, "line 2: no Valeur (a gap in the curve)"),
    ([(PRM, "CONS", "2027-03-28 02:30:00", "1", "PT30M")], HEADER, "does not exist in Paris"),
    ([(PRM, "CONS", "2027-06-21 00:20:00", "1", "PT30M")], HEADER, "is not the end of a 30-minute step"),
])
def test_bad_curves_are_refused_in_one_line_naming_file_and_line(gs, tmp_path, monkeypatch, rows, header, expected):
    monkeypatch.chdir(tmp_path)
    path = curve(tmp_path / "bad.csv", rows, header=header)
    code, _, err = _cli(gs, path)
    line = one_line_error(code, err)
    assert code == 1 and str(path) in line and expected in line, line
    assert "; " in line.split(expected)[-1]  # then says what to do


def test_an_imported_curve_is_verified_on_the_chain(env, gs, tmp_path):
    flat = env.meter(env.bob, MeterKind.PROSUMER, capacity_w=9_000, point=PRM)
    day = datetime.fromtimestamp(flat.first, PARIS).date() + timedelta(days=2)
    rows = day_rows(day, ["1001", "250,5", "0"]) + day_rows(day, ["0", "3000"], flow="PROD")
    path = curve(tmp_path / "courbe.csv", rows)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(env.c.manifest))
    keystore = save_keystore(flat.key, tmp_path / "flat.json", PASSWORD)
    out = tmp_path / "runs.json"
    code, stdout, err = gs("readings", "import-enedis", str(path), "--point", PRM, "--keystore", str(keystore),
                           "--out", str(out), "--salt", "0x" + SALT.hex(), "--manifest", str(manifest),
                           "--previous-end", str(flat.first))
    assert code == 0, err
    expected = to_intervals(read_steps(path), 900)
    imported, exported = sum(expected[(PRM, "CONS")].values()), sum(expected[(PRM, "PROD")].values())
    assert (imported, exported) == (16 * 625 + 16 // 4 * 3, 24 * 1500)  # 500.5 + 125.25 + 0 Wh a cycle, floored
    assert f"{imported:,} Wh imported, {exported:,} Wh exported" in stdout
    signed = load_signed(out)
    assert {s.run.meter_id for s in signed} == {meter_id(SALT, PRM)}
    env.submit(signed)
    state = env.registry.functions.meterState(flat.id).call()
    end = int(datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS).timestamp())
    assert (state[0], state[1], state[2]) == (end, imported, exported)


def test_reconciliation_finds_a_planted_difference(env, tmp_path):
    points = {"plant": "30000000000010", "b": "30000000000011", "c": "30000000000012"}
    plant = env.meter(env.alice, MeterKind.PRODUCER, point=points["plant"])
    flat_b = env.meter(env.bob, MeterKind.CONSUMER, point=points["b"])
    flat_c = env.meter(env.carol, MeterKind.CONSUMER, point=points["c"])
    start = -(-env.next_start() // 1800) * 1800  # on Enedis's 30-minute grid
    join(env.c, [plant.id, flat_b.id, flat_c.id], start // 900)
    allocate(env.c, env.readings(plant, start, [0] * 4, [1000, 500, 800, 0])
             + env.readings(flat_b, start, [400, 300, 100, 50], [0] * 4)
             + env.readings(flat_c, start, [500, 600, 0, 0], [0] * 4))
    rows = quantities(env.c, start, start + 3600)
    by = {(q.account, q.interval_start): q for q in rows}
    lines = ["\ufeffIdentifiant PRM;Grandeur métier;Unité;Horodate;Valeur;Pas"]
    planted = (points["b"], "AUTOCONS", start + 1800)
    for name, account in (("plant", env.alice), ("b", env.bob), ("c", env.carol)):
        kinds = ("AUTOPROD", "SURPLUS") if name == "plant" else ("AUTOCONS", "COMPLEMENT")
        for kind in kinds:
            for step in (start, start + 1800):
                qs = [by[(account, step)], by[(account, step + 900)]]
                wh = sum({"AUTOPROD": q.autoprod, "SURPLUS": q.surplus, "AUTOCONS": q.autocons,
                          "COMPLEMENT": q.complement}[kind] for q in qs)
                wh += 7 if (points[name], kind, step) == planted else 0
                end = datetime.fromtimestamp(step + 1800, PARIS).isoformat()
                lines.append(f"{points[name]};{kind};Wh;{end};{wh};PT30M")
    path = tmp_path / "repartition.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shared = read_repartition(path)
    members = owners(env.c, {p: meter_id(SALT, p) for p in points.values()})
    assert members == {points["plant"]: env.alice, points["b"]: env.bob, points["c"]: env.carol}
    with pytest.raises(GridshareError, match="meter point 30000000000099 .* is not registered; check the PRM"):
        owners(env.c, {"30000000000099": meter_id(SALT, "30000000000099")})
    diffs = reconcile(shared, rows, members)
    assert len(diffs) == 6 and {d.steps for d in diffs} == {2}
    off = [d for d in diffs if d.difference_wh or d.steps_differing]
    assert [(d.member, d.quantity, d.difference_wh, d.steps_differing) for d in off] == [(env.bob, "AUTOCONS", 7, 1)]
    written = list(csv.DictReader(write_reconciliation(diffs, tmp_path / "r" / "reconcile.csv").open()))
    assert [(r["member"], r["meter_points"], r["quantity"], r["difference_wh"]) for r in written
            if r["difference_wh"] != "0"] == [(env.bob, points["b"], "AUTOCONS", "7")]
