"""The package's folders are its architecture: no import cycle, each layer imports only the layers
below it (``scripts/import_graph.py`` prints the graph), and the pure layers import no web3."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _graph_tool():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycle_and_layers_respected():
    tool = _graph_tool()
    edges, _ = tool.graph(ROOT / "gridshare")
    assert "gridshare.cli.app" in edges and "gridshare.protocol.readings" in edges  # the graph is read
    assert tool.cycles(edges) == []
    assert tool.layer_violations(edges) == []


def test_the_graph_tool_finds_a_planted_cycle_and_a_layer_breach(tmp_path):
    tool = _graph_tool()
    pkg = tmp_path / "gridshare"
    for sub in ("protocol", "chain"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "protocol" / "a.py").write_text("from gridshare.chain import b\n")
    (pkg / "chain" / "b.py").write_text("def f():\n    from gridshare.protocol.a import x\n")
    edges, _ = tool.graph(pkg)
    assert tool.cycles(edges) == [["gridshare.chain.b", "gridshare.protocol.a"]]
    assert tool.layer_violations(edges) == ["gridshare.protocol.a -> gridshare.chain.b"]


def test_pure_layers_import_no_web3():
    code = (
        "import importlib, pkgutil, sys\n"
        "import gridshare.protocol, gridshare.domain\n"
        "for pkg in (gridshare.protocol, gridshare.domain):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "print(sorted({k.split('.')[0] for k in sys.modules} & {'web3', 'eth_tester', 'solcx', 'rich', 'click'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
