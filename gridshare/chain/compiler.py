"""Compile the Solidity contracts with the pinned compiler, through py-solc-x.

The compiler is the npm package ``solc`` (WebAssembly) behind the ``solc``-compatible wrapper
``gridshare/toolchain/solc``, or a native ``solc`` of the same version when one is on PATH (the
wrapper picks it). Settings are fixed here so that every build of the same sources gives the same
bytecode. Results are cached in ``build/gridshare-compile.json``, keyed by a hash of the sources, the
settings and the compiler version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx

from gridshare.errors import GridshareError

#: Contracts a deployment consists of, in deployment order; their ABIs are published in ``abi/``.
#: ``TestEuro`` (a test payment token with a faucet) is only deployed on local devnets.
DEPLOYABLE = ("MeterRegistry", "EnergyToken", "GuaranteeOfOrigin", "SelfConsumption", "EnergyMarket", "BatchAuction",
              "SolarReward", "Solidarity", "CommunityVotes", "CommunityTreasury", "CommunityGovernor", "TestEuro")

SETTINGS: dict[str, Any] = {
    "evmVersion": "cancun",
    "optimizer": {"enabled": True, "runs": 10_000},
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list[dict]
    bytecode: str  # creation code, 0x-prefixed


def project_root() -> Path:
    """The repository root: ``$GRIDSHARE_ROOT``, or the parent of this package's folder."""
    env = os.environ.get("GRIDSHARE_ROOT")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def solc_binary(root: Path | None = None) -> Path:
    """The solc-compatible executable py-solc-x calls."""
    root = root or project_root()
    return root / "gridshare" / "toolchain" / "solc"


def compiler_version(root: Path | None = None) -> str:
    root = root or project_root()
    package = root / "node_modules" / "solc" / "package.json"
    if not package.exists():
        raise GridshareError(f"the Solidity compiler is not installed ({package} missing): run `make setup`")
    return json.loads(package.read_text())["version"]


def _sources(root: Path) -> dict[str, dict]:
    files = sorted((root / "contracts").rglob("*.sol"))
    if not files:
        raise GridshareError(f"no Solidity sources under {root / 'contracts'}")
    return {f.relative_to(root).as_posix(): {"content": f.read_text()} for f in files}


def compile_contracts(root: Path | None = None, *, use_cache: bool = True) -> dict[str, Artifact]:
    """Compile every contract under ``contracts/``; returns the artifacts of :data:`DEPLOYABLE` and
    of the test contracts in ``contracts/test/`` (each named after its file)."""
    root = root or project_root()
    sources = _sources(root)
    version = compiler_version(root)
    key = hashlib.sha256(json.dumps([sources, SETTINGS, version], sort_keys=True).encode()).hexdigest()
    cache = root / "build" / "gridshare-compile.json"
    if use_cache and cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return {name: Artifact(name, **fields) for name, fields in cached["artifacts"].items()}

    try:
        output = solcx.compile_standard(
            {"language": "Solidity", "sources": sources, "settings": SETTINGS},
            solc_binary=solc_binary(root),
            base_path=str(root),
        )
    except solcx.exceptions.SolcError as exc:
        errors = exc.error_dict if isinstance(exc.error_dict, list) else (exc.error_dict or {}).get("errors", [])
        details = "; ".join(
            " ".join(e.get("formattedMessage", e.get("message", "")).split()[:40])
            for e in errors
            if e.get("severity") == "error"
        )
        raise GridshareError(f"compilation failed: {details or exc.message}") from None

    artifacts = {}
    for path, contracts in output["contracts"].items():
        for name, out in contracts.items():
            if (name in DEPLOYABLE and path == f"contracts/{name}.sol") or path == f"contracts/test/{name}.sol":
                artifacts[name] = Artifact(name, out["abi"], "0x" + out["evm"]["bytecode"]["object"])
    cache.parent.mkdir(exist_ok=True)
    cache.write_text(
        json.dumps({"key": key, "artifacts": {n: {"abi": a.abi, "bytecode": a.bytecode} for n, a in artifacts.items()}})
    )
    return artifacts


def enums(root: Path | None = None) -> dict[str, dict[str, int]]:
    """Every enum of the contracts' interfaces (``contracts/interfaces/*.sol``), by name, its members
    and their values (an ABI says only ``uint8``): what the manifest publishes."""
    out: dict[str, dict[str, int]] = {}
    for path in sorted(((root or project_root()) / "contracts" / "interfaces").glob("*.sol")):
        text = re.sub(r"//[^\n]*", "", path.read_text())
        for name, body in re.findall(r"\benum\s+(\w+)\s*\{([^}]*)\}", text):
            if name in out:
                raise GridshareError(f"enum {name} is declared twice ({path.name}): enum names must be unique")
            out[name] = {member.strip(): k for k, member in enumerate(m for m in body.split(",") if m.strip())}
    return out


def published_abi(artifacts: dict[str, Artifact], name: str) -> list[dict]:
    """``name``'s ABI as published: the compiler's, then the custom errors of the deployment's other
    contracts it lacks (a call passes on the errors of the contracts it calls: the registry's
    through the operation, the token's through the market...), so that a client decodes every
    revert from one ABI. Errors are told apart by name and input types."""
    abi = list(artifacts[name].abi)

    def signature(entry: dict) -> tuple:
        return entry["name"], tuple(i["type"] for i in entry["inputs"])

    known = {signature(e) for e in abi if e["type"] == "error"}
    passed_on: dict[tuple, dict] = {}
    for other in DEPLOYABLE:
        for e in artifacts[other].abi:
            if e["type"] == "error" and signature(e) not in known:
                passed_on.setdefault(signature(e), e)
    return abi + [passed_on[k] for k in sorted(passed_on)]


def write_abis(artifacts: dict[str, Artifact], folder: Path | None = None) -> list[Path]:
    """Write ``abi/<ContractName>.json`` (the bare ABI array, :func:`published_abi`) for every
    deployable contract."""
    folder = folder or project_root() / "abi"
    folder.mkdir(exist_ok=True)
    written = []
    for name in DEPLOYABLE:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(published_abi(artifacts, name), indent=2) + "\n")
        written.append(path)
    return written
