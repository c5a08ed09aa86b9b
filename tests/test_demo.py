"""`make demo` end to end on the embedded chain, its figures checked against the rules."""

import io

from rich.console import Console

from gridshare import demo


def test_demo_day_conserves_energy_and_never_over_serves():
    out = io.StringIO()
    result = demo.run(Console(file=out, width=160))
    report, meters = result["report"], result["meters"]
    assert report.intervals == 96 and report.incomplete is None
    producers = [demo_m for name, demo_m in meters.items() if demo_m["export_wh"] > 0]
    consumers = [m for m in meters.values() if m["import_wh"] > 0]
    assert len(producers) == 3 and len(consumers) == 7
    # what producers gave equals what consumers received and redeemed; nobody redeems beyond import
    assert sum(m["local_out_wh"] for m in producers) == sum(m["local_in_wh"] for m in consumers)
    assert all(m["redeemed_wh"] == m["local_in_wh"] <= m["import_wh"] for m in consumers)
    # tokens held after settlement are exactly the surplus
    assert sum(m["held_wh"] for m in meters.values()) == sum(m["export_wh"] - m["local_out_wh"] for m in producers)
    assert "Verified energy and crypto-kWh" in out.getvalue()
