"""The deployment manifest (``deployments/<chainId>.json``): what a client needs to reach a community.

Layout (docs/protocol.md): ``chainId``, ``name``, ``contracts`` (per contract: ``address``, ``abi``,
``blockNumber``, ...) and ``settings`` (``intervalSeconds``, ``allocationKey``, ``market`` ...).
This module reads it without a chain; :mod:`gridshare.chain.deployment` writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridshare.errors import GridshareError


@dataclass(frozen=True)
class Manifest:
    """A read view of a manifest's JSON document."""

    data: dict[str, Any]

    @property
    def chain_id(self) -> int:
        return int(self.data["chainId"])

    @property
    def interval_seconds(self) -> int:
        return int(self.data["settings"]["intervalSeconds"])

    @property
    def contracts(self) -> dict[str, dict[str, Any]]:
        return self.data["contracts"]

    def address(self, contract: str) -> str:
        return self.contracts[contract]["address"]

    def block(self, contract: str) -> int:
        """The block ``contract`` was deployed in: where scans of its events start."""
        return int(self.contracts[contract]["blockNumber"])

    @property
    def deployed_at(self) -> int:
        """The block of the first contract deployed: where scans of every event start."""
        return min(int(c["blockNumber"]) for c in self.contracts.values())


def read_manifest(path: Path) -> Manifest:
    """The manifest at ``path``; a missing, truncated or foreign file is refused in one line."""
    if not path.exists():
        raise GridshareError(f"{path} not found: deploy first (`gridshare deploy`) or pass --manifest")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GridshareError(f"{path} is not a deployment manifest ({exc}): deploy again or restore it") from None
    try:
        manifest = Manifest(data)
        manifest.chain_id, manifest.interval_seconds, manifest.address("MeterRegistry")
        for name, entry in manifest.contracts.items():
            if not isinstance(entry.get("address"), str) or not isinstance(entry.get("abi"), list):
                raise KeyError(f"address and abi of {name}")
            int(entry["blockNumber"])
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise GridshareError(f"{path} is not a deployment manifest (no {exc}): deploy again or restore it") from None
    # deployments/<chainId>.json: a file copied or edited by hand may name another chain, whose
    # signatures would not verify here and whose balances are not these
    if path.stem.isdigit() and int(path.stem) != manifest.chain_id:
        raise GridshareError(f"{path} says chainId {manifest.chain_id} but is the manifest of chain {path.stem}: "
                             f"restore it, or deploy again on chain {path.stem}")
    return manifest
