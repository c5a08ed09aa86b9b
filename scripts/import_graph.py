"""The gridshare package's import graph: modules, edges, cycles and the largest modules.

Run: ``.venv/bin/python scripts/import_graph.py [PACKAGE_DIR]`` (default: ./gridshare). Every import
counts, also those inside functions and under ``TYPE_CHECKING``: a dependency is a dependency.
``tests/test_architecture.py`` asserts what this prints: no cycle, and the layers below.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

#: what each layer may import from the package (besides itself and gridshare.errors)
LAYERS = {
    "protocol": set(),
    "domain": {"protocol"},
    "chain": {"protocol", "domain"},
    "reports": {"protocol", "domain"},
    "simulate": {"protocol", "domain", "chain", "reports"},
    "cli": {"protocol", "domain", "chain", "reports", "simulate"},
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def graph(root: Path) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Module -> the package's modules it imports; module -> lines."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    edges: dict[str, set[str]] = {m: set() for m in files}
    lines = {m: len(p.read_text().splitlines()) for m, p in files.items()}
    top = root.name
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t and t.split(".")[0] == top and t != mod:
                    edges[mod].add(t)
    return edges, lines


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else None


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, targets in sorted(edges.items()):
        own = layer(mod)
        if own is None:
            continue
        for t in sorted(targets):
            other = layer(t)
            if other is not None and other != own and other not in LAYERS[own]:
                bad.append(f"{mod} -> {t}")
    return bad


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "gridshare").resolve()
    edges, lines = graph(root)
    found = cycles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} import edges, {len(found)} cycles")
    for c in found:
        print("  cycle: " + " <-> ".join(c))
    for v in layer_violations(edges):
        print("  layer: " + v)
    print("largest modules (lines):")
    for mod, n in sorted(lines.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {n:>5}  {mod}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
