"""EIP-712 typed data as gridshare's signed structs use it: the full message and its digest."""

from __future__ import annotations

from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def typed_data(name: str, version: str, chain_id: int, verifying_contract: str, primary: str, fields: list[dict],
               message: dict) -> dict:
    """The full EIP-712 message of one ``primary`` struct with ``fields``, for the contract's domain."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, primary: fields},
        "primaryType": primary,
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract},
        "message": message,
    }


def digest(full_message: dict) -> bytes:
    """What is signed: ``keccak256(0x1901 || domainSeparator || structHash)``."""
    signable = encode_typed_data(full_message=full_message)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)
