"""Where the gas of the default building goes: one transaction, opcode by opcode, on anvil's step tracer.

Run: ``.venv/bin/python benchmarks/self_consumption_profile.py [--intervals 16] [--batch 3]``.
The day of ``benchmarks/self_consumption.py`` (61 meters in one operation, runs of ``--intervals``
intervals), on an anvil started with ``--steps-tracing``: the batches before ``--batch`` are sent,
then batch ``--batch`` (by default the one holding noon) is traced (``debug_traceTransaction``) and
its steps summed by contract and opcode class, per meter-interval. Call overhead is what a CALL
costs its caller beyond what the callee uses; memory expansion is counted in the opcode that grows
memory.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gridshare.chain.network import start_anvil

_spec = importlib.util.spec_from_file_location("bench_sc", Path(__file__).parent / "self_consumption.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

CLASSES = {
    "SLOAD": "storage read", "SSTORE": "storage write", "TLOAD": "storage read", "TSTORE": "storage write",
    "LOG0": "events", "LOG1": "events", "LOG2": "events", "LOG3": "events", "LOG4": "events",
    "KECCAK256": "keccak", "SHA3": "keccak",
    "CALL": "calls", "STATICCALL": "calls", "DELEGATECALL": "calls", "CREATE": "calls", "CREATE2": "calls",
    "EXTCODESIZE": "account access", "EXTCODECOPY": "account access", "EXTCODEHASH": "account access",
    "CALLDATACOPY": "memory copies", "CODECOPY": "memory copies", "RETURNDATACOPY": "memory copies",
    "MCOPY": "memory copies", "RETURN": "memory copies", "REVERT": "memory copies",
}
CALLS = {"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE", "CREATE", "CREATE2"}


def _calls_in_order(frame: dict) -> list[dict]:
    out = []
    for child in frame.get("calls", []):
        out.append(child)
        out.extend(_calls_in_order(child))
    return out


def profile(w3, tx_hash, names: dict[str, str]) -> Counter:
    """Gas of one transaction by (contract, class), plus 'intrinsic' and 'refund'."""
    steps = w3.provider.make_request("debug_traceTransaction", [tx_hash, {
        "disableStack": True, "disableStorage": True, "disableMemory": True}])["result"]["structLogs"]
    tree = w3.provider.make_request("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])["result"]
    pending = _calls_in_order(tree)
    tx = w3.eth.get_transaction(tx_hash)
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    out: Counter = Counter()
    out[("transaction", "intrinsic (21,000 + calldata)")] = tx["gas"] - steps[0]["gas"]
    stack = [names.get(tree["to"].lower(), tree["to"])]
    for i, step in enumerate(steps):
        depth, op = step["depth"], step["op"]
        contract = stack[depth - 1]
        cls = CLASSES.get(op, "other opcodes")
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        if op in CALLS and nxt is not None and nxt["depth"] > depth:
            call = pending.pop(0)
            stack[depth:] = [names.get(call.get("to", "").lower(), "created contract")]
            used = int(call["gasUsed"], 16)
            back = next(s for s in steps[i + 1:] if s["depth"] == depth)  # the caller after the return
            out[(contract, "calls")] += step["gas"] - back["gas"] - used
            continue
        if op in CALLS:  # a precompile (ecrecover), or an account without code: no steps of its own
            pending.pop(0)
            out[(contract, "precompiles" if op == "STATICCALL" else cls)] += step["gas"] - nxt["gas"]
            continue
        out[(contract, cls)] += step["gasCost"]
    execution = sum(out.values()) - out[("transaction", "intrinsic (21,000 + calldata)")]
    out[("transaction", "refund")] = receipt["gasUsed"] - (tx["gas"] - steps[0]["gas"]) - execution
    assert sum(out.values()) == receipt["gasUsed"], (sum(out.values()), receipt["gasUsed"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=16, help="intervals per run (a divisor of 96)")
    parser.add_argument("--batch", type=int, default=3, help="which batch of the day to trace")
    args = parser.parse_args()
    k = args.intervals
    with start_anvil(extra_args=["--steps-tracing"], history_states=None) as chain:
        chain.travel(bench.DAY - 86_400)
        c, ms = bench._setup(chain, bench.building())
        c.transact(c.operation.functions.join([mid for mid, _, _ in ms], bench.DAY // 900))
        chain.travel(bench.DAY + 86_400)
        batches = bench._runs(c, ms, k)
        for batch in batches[:args.batch]:
            c.transact(bench.EncodedCall(c.operation, "submitAndAllocate", batch), gas=16_000_000)
        names = {c.registry.address.lower(): "MeterRegistry", c.token.address.lower(): "EnergyToken",
                 c.operation.address.lower(): "SelfConsumption"}
        receipt = c.transact(bench.EncodedCall(c.operation, "submitAndAllocate", batches[args.batch]), gas=16_000_000)
        out = profile(chain.w3, receipt["transactionHash"].to_0x_hex(), names)
    cells = len(ms) * k
    table = Table(title=f"Batch {args.batch} of the day: {len(ms)} meters x {k} intervals verified, minted and "
                        "shared (gas)", title_justify="left")
    for col in ("contract", "what", "gas", "per meter-interval"):
        table.add_column(col, justify="left" if col in ("contract", "what") else "right")
    for key in sorted(out, key=lambda x: -out[x]):
        if out[key]:
            table.add_row(*key, f"{out[key]:,}", f"{out[key] / cells:,.0f}")
    total = sum(out.values())
    table.add_row("total", "", f"{total:,}", f"{total / cells:,.0f}", style="bold")
    Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
