"""The members' web app in a real browser: a street of 20 houses (three energy-poor, to whom the
rooftops pledge half of their surplus) simulated on a real anvil node,
`gridshare web`'s server in front of it, Debian's headless Chromium driven by playwright-core
(tests/browser/members.mjs). What each page shows equals what the chain says, read here by an
independent path (web3.py's event decoding and gridshare's readers, not the app's JavaScript).

Screenshots go to a temporary folder; `make screenshots` writes them into docs/ instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from gridshare import web
from gridshare.chain.deployment import from_manifest
from gridshare.chain.market import trades as market_trades
from gridshare.chain.network import start_anvil
from gridshare.chain.quantities import quantities
from gridshare.simulate.scenario import parse_scenario
from gridshare.simulate.simulation import STATE_FILE, simulate

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "browser" / "members.mjs"
CHROMIUM = os.environ.get("GRIDSHARE_CHROMIUM", "/usr/bin/chromium")
TZ = "America/New_York"  # the street's
R15 = ("prod", "autoprod", "surplus", "cons", "autocons", "complement")


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    """The street simulated on a fresh anvil, and the web app served for it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`make browser`, or apt-get install chromium)")
    out = tmp_path_factory.mktemp("street")
    chain = start_anvil()
    try:
        street = (ROOT / "gridshare" / "scenarios" / "street.toml").read_text()
        # three energy-poor houses, and the rooftops pledging half of their surplus to them
        street = street.replace("count = 20\n", "count = 20\nenergy_poor = 3\n", 1) + "\n[solidarity]\nshare = 0.5\n"
        street += "\n[treasury]\ndonation = 60\n"  # and a vote on paying 60 EUR to them
        simulate(parse_scenario(street, "street.toml"), chain, out, plots=False)
        community = from_manifest(chain, json.loads((out / STATE_FILE).read_text())["manifest"])
        web.build()
        httpd = web.server(community, chain.rpc_url, 0)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield community, f"http://127.0.0.1:{httpd.server_address[1]}/"
        finally:
            httpd.shutdown()
            httpd.server_close()
    finally:
        chain.close()


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(TZ)).strftime("%Y-%m-%d")


def _time(ts: int) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")


def _chain_figures(community) -> dict:
    """Per account and interval start: the R15 quantities (gridshare's reader of the events), and
    bought, sold and claimed Wh (the market's, the batch auction's and the token's events, decoded
    by web3.py)."""
    cells: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys((*R15, "bought", "sold", "claimed"), 0))
    start = community.deployed_at
    end = community.chain.w3.eth.get_block("latest")["timestamp"] + 10 * 86_400
    for q in quantities(community, 0, end):
        cell = cells[(q.account.lower(), q.interval_start)]
        for f in R15:
            cell[f] += getattr(q, f)
    owners = {e.args.orderId: e.args.owner.lower()
              for e in community.market.events.OrderPlaced().get_logs(from_block=start)}
    seconds = community.interval_seconds
    for t in market_trades(community, from_block=start):
        cells[(owners[t.bid_id], t.interval_id * seconds)]["bought"] += t.quantity_wh
        cells[(owners[t.ask_id], t.interval_id * seconds)]["sold"] += t.quantity_wh
    for e in community.token.events.Redeemed().get_logs(from_block=start):
        cells[(e.args.account.lower(), e.args.intervalId * seconds)]["claimed"] += e.args.amountWh
    for e in community.solidarity.events.Given().get_logs(from_block=start):  # a gift is its recipient's claim
        cells[(e.args.recipient.lower(), e.args.intervalId * seconds)]["claimed"] += e.args.amountWh
    return cells


def _sum(cells: dict, account: str | None, key) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (a, at), cell in cells.items():
        if account is None or a == account:
            for f, v in cell.items():
                out[key(at)][f] += v
    return {k: dict(v) for k, v in out.items()}


def _page(rows: dict, fields) -> dict[str, dict[str, int]]:
    return {period: {f: cell[f] for f in fields} for period, cell in rows.items()}


def _expected(rows: dict, fields) -> dict[str, dict[str, int]]:
    return {period: {f: cell.get(f, 0) for f in fields} for period, cell in rows.items()}


@pytest.fixture(scope="module")
def seen(street, tmp_path_factory):
    """What the browser saw for the household that bought and sold the most."""
    community, url = street
    cells = _chain_figures(community)
    totals = {a: _sum(cells, a, lambda at: "all")["all"] for a in {a for a, _ in cells}}
    account = max(totals, key=lambda a: (totals[a]["bought"] > 0, totals[a]["sold"] > 0, totals[a]["prod"] > 0,
                                         totals[a]["bought"], a))
    shots = Path(os.environ["GRIDSHARE_SCREENSHOTS"]) if os.environ.get("GRIDSHARE_SCREENSHOTS") else \
        tmp_path_factory.mktemp("shots")
    done = subprocess.run([shutil.which("node") or "node", str(DRIVER), "--url", url, "--account", account, "--tz", TZ,
                           "--shots", str(shots)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return account, cells, json.loads(done.stdout), shots


def test_the_members_pages_show_the_chains_figures_per_day_month_and_interval(seen):
    account, cells, page, _ = seen
    fields = (*R15, "bought", "sold", "claimed")
    mine = {k: v for k, v in cells.items() if k[0] == account}
    assert any(c["bought"] for c in mine.values()) and any(c["prod"] for c in mine.values())  # a telling member
    assert page["days"]["tables"]["figures"] == _expected(_sum(cells, account, _day), fields)
    assert page["months"]["tables"]["figures"] == _expected(_sum(cells, account, lambda at: _day(at)[:7]), fields)
    last_day = max(_day(at) for (a, at) in mine)
    by_interval = {k: v for k, v in _sum(cells, account, _time).items() if k.startswith(last_day)}
    assert page["intervals"]["tables"]["figures"] == _expected(by_interval, fields)
    assert not page["days"]["error"] and page["problems"] == []


def test_the_monthly_rates_are_the_shares_consumed_and_covered_locally(seen):
    account, cells, page, _ = seen
    for month, m in _sum(cells, account, lambda at: _day(at)[:7]).items():
        rates = page["months"]["rates"]["rates"][month]
        assert rates["selfConsumption"] == pytest.approx(m["autoprod"] / m["prod"])
        assert rates["coverage"] == pytest.approx(m["autocons"] / m["cons"])


def test_trades_certificates_and_claims_are_listed(seen, street):
    community, _ = street
    account, cells, page, _ = seen
    lists = page["months"]["lists"]
    assert sum(int(t["wh"]) for t in lists["trades"] if t["side"] == "bought") == sum(c["bought"] for (a, _), c in cells.items() if a == account)
    assert sum(int(t["wh"]) for t in lists["trades"] if t["side"] == "sold") == sum(c["sold"] for (a, _), c in cells.items() if a == account)
    start = community.deployed_at
    issued = sorted((e.args.certificateId, e.args.amountWh) for e in community.guarantees.events.CertificateIssued().get_logs(
        from_block=start, argument_filters={"owner": community.chain.w3.to_checksum_address(account)}))
    assert issued and sorted((int(c["certificate"]), int(c["wh"])) for c in lists["certificates"]) == issued
    redeemed = sorted((e.args.intervalId, e.args.amountWh) for e in community.token.events.Redeemed().get_logs(
        from_block=start, argument_filters={"account": community.chain.w3.to_checksum_address(account)}))
    assert sorted((int(r["redeemed"]), int(r["wh"])) for r in lists["redemptions"]) == redeemed
    checksum = community.chain.w3.to_checksum_address(account)
    gifts = sorted((e.args.intervalId, "given" if e.args.giver == checksum else "received", e.args.amountWh)
                   for e in community.solidarity.events.Given().get_logs(from_block=start)
                   if checksum in (e.args.giver, e.args.recipient))
    assert gifts and sorted((int(g["gift"]), g["side"], int(g["wh"])) for g in lists["gifts"]) == gifts


def test_the_operators_view_shows_the_members_and_the_r15_quantities_per_interval(seen, street):
    community, _ = street
    account, cells, page, _ = seen
    operator = page["operator"]
    assert len(operator["lists"]["members"]) == len(community.operation.functions.members().call()) == 20
    assert operator["tables"]["community-months"] == _expected(_sum(cells, None, lambda at: _day(at)[:7]), R15)
    last_day = max(_day(at) for (_, at) in cells)
    every = {k: v for k, v in _sum(cells, None, _time).items() if k.startswith(last_day)}
    assert operator["tables"]["r15"] == _expected(every, R15)
    one = {k: v for k, v in _sum(cells, account, _time).items() if k.startswith(last_day)}
    assert page["operatorMember"]["tables"]["r15"] == _expected(one, R15)
    assert page["keyFileLinks"] == [f"key-file?month={m}" for m in sorted(operator["tables"]["community-months"])]


def test_the_members_reward_votes_and_the_treasurys_proposals_are_the_chains(seen, street):
    community, _ = street
    account, _, page, _ = seen
    who = community.chain.w3.to_checksum_address(account)
    sun = community.reward.functions.balanceOf(who).call() // 10**18
    votes = community.votes.functions.getVotes(who).call() / 1e6
    cards = page["months"]["cards"]
    assert cards["sun"] == f"{sun:,} SUN" and float(cards["votes"].replace(",", "")) == pytest.approx(votes, abs=5e-4)
    assert votes > 1  # a meter's vote, plus its export
    operator = page["operator"]
    assert operator["lists"]["proposals"] == [{"proposal": "1", "state": "Executed"}]
    balance = community.payment.functions.balanceOf(community.treasury.address).call()
    decimals = community.payment.functions.decimals().call()
    assert operator["cards"]["treasury-balance"].startswith(f"{balance / 10**decimals:,.2f} ")


def test_the_key_file_link_serves_the_operations_key_file(seen, street):
    community, url = street
    _, _, page, _ = seen
    answer = requests.get(url + page["keyFileLinks"][0], timeout=60)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert answer.text == web.key_file_text(community, page["keyFileLinks"][0][-7:])
    header, *rows = answer.text.splitlines()
    assert header.split(";")[0] == "horodate" and len(header.split(";")) == 21 and rows
    bad = requests.get(url + "key-file?month=2026-13", timeout=10)
    assert bad.status_code == 400 and "give ?month=YYYY-MM" in bad.text


def test_the_page_fits_a_phone_and_screenshots_are_taken(seen):
    _, _, page, shots = seen
    assert page["phone"]["scrollWidth"] <= page["phone"]["width"]  # no sideways scrolling of the page
    for name in ("webapp-member.png", "webapp-operator.png", "webapp-phone.png"):
        assert (shots / name).stat().st_size > 10_000


def test_the_servers_rpc_only_reads(street):
    _, url = street
    send = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [{}]}
    answer = requests.post(url + "rpc", json=send, timeout=10).json()
    assert answer["error"]["message"] == "eth_sendTransaction is not served here: the page only reads"
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
             {"jsonrpc": "2.0", "id": 2, "method": "anvil_setBalance", "params": []}]
    assert "anvil_setBalance is not served" in requests.post(url + "rpc", json=batch, timeout=10).json()["error"]["message"]
    assert requests.post(url + "rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                         timeout=10).json()["result"] == "0x7a69"


def test_the_server_says_when_the_node_is_gone(street):
    community, _ = street
    httpd = web.server(community, "http://127.0.0.1:9", 0)  # nothing listens there
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        call = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        answer = requests.post(f"http://127.0.0.1:{httpd.server_address[1]}/rpc", json=call, timeout=30)
        assert answer.status_code == 502 and "is the devnet running" in answer.json()["error"]["message"]
    finally:
        httpd.shutdown()
        httpd.server_close()
