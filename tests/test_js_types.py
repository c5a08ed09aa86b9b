"""The JavaScript client's generated files (js/contracts.mjs, js/contracts.d.mts), without a chain:
they equal a fresh generation from abi/, the interfaces' enums and the manifest schema."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gridshare.chain import js_client
from gridshare.chain.compiler import DEPLOYABLE, enums
from gridshare.errors import GridshareError

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
MODULES = {"index": "@gridshare/client", "contracts": "@gridshare/client/contracts",
           "readings": "@gridshare/client/readings", "orders": "@gridshare/client/orders"}


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    return node


def _tsc() -> Path:
    if not TSC.exists():
        pytest.skip("typescript is not installed: run `make setup`")
    return TSC


def test_generated_files_equal_a_fresh_generation():
    for name, text in js_client.generate().items():
        assert (JS / name).read_text() == text, f"js/{name} is stale: run `make abi`"


def test_the_generated_module_holds_the_published_abis_and_the_enums():
    script = ("const m = await import('./js/contracts.mjs');"
              "console.log(JSON.stringify({abis: m.abis, enums: m.enums, contractNames: m.contractNames}));")
    proc = subprocess.run([_node(), "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["contractNames"] == list(DEPLOYABLE)
    assert out["abis"] == {n: json.loads((ROOT / "abi" / f"{n}.json").read_text()) for n in DEPLOYABLE}
    assert out["enums"] == enums()


def test_the_manifest_type_follows_the_schema():
    schema = json.loads((ROOT / "deployments" / "manifest.schema.json").read_text())
    abis = {"MeterRegistry": [{"type": "fallback", "stateMutability": "payable"}]}

    def manifest_type(s: dict) -> str:
        text = js_client.render(abis, {"Side": {"Bid": 0, "Ask": 1}}, s)["contracts.d.mts"]
        return text[text.index("export interface Manifest"):]

    base = manifest_type(schema)
    assert "  chainId: number;\n" in base and "    TestEuro?: ManifestContract;\n" in base
    assert '    allocationKey: "dynamic-default" | "supplied";\n' in base

    changed = copy.deepcopy(schema)
    changed["properties"]["settings"]["properties"]["market"]["properties"]["tickWh"] = {"type": "integer"}
    changed["properties"]["settings"]["properties"]["market"]["required"].append("tickWh")
    changed["properties"]["contracts"]["required"].append("TestEuro")
    text = manifest_type(changed)
    assert "      tickWh: number;\n" in text and "    TestEuro: ManifestContract;\n" in text

    unknown = copy.deepcopy(schema)
    unknown["properties"]["name"] = {"oneOf": [{"type": "string"}, {"type": "null"}]}
    with pytest.raises(GridshareError, match=r"oneOf at /name is not translated"):
        manifest_type(unknown)
