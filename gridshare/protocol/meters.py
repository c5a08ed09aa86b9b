"""Meter identity and meter keys.

``meterId = keccak256(abi.encodePacked(communitySalt, meterPointNumber))``: the chain never sees
the meter point number (PRM/PDL), only this salted hash. Each meter signs its readings with its own
secp256k1 key, kept as an encrypted V3 keystore (eth-account).
"""

from __future__ import annotations

import json
import os
from enum import IntEnum
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from gridshare.errors import GridshareError


class MeterKind(IntEnum):
    """As in ``IMeterRegistry.MeterKind``."""

    PRODUCER = 0
    CONSUMER = 1
    PROSUMER = 2

    @classmethod
    def parse(cls, text: str) -> MeterKind:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise GridshareError(f"unknown meter kind {text!r}: use producer, consumer or prosumer") from None


def new_community_salt() -> bytes:
    """A fresh 32-byte community salt (a secret of the operator, kept off-chain)."""
    return os.urandom(32)


def parse_salt(text: str) -> bytes:
    try:
        salt = bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError:
        raise GridshareError("the community salt must be 32 bytes in hex (0x + 64 hex digits)") from None
    if len(salt) != 32:
        raise GridshareError(f"the community salt must be 32 bytes, got {len(salt)}")
    return salt


def meter_id(community_salt: bytes, meter_point_number: str) -> bytes:
    """The on-chain id of a meter: keccak256(communitySalt ++ UTF-8 meter point number)."""
    if len(community_salt) != 32:
        raise GridshareError(f"the community salt must be 32 bytes, got {len(community_salt)}")
    if not meter_point_number.strip():
        raise GridshareError("the meter point number is empty")
    return keccak(community_salt + meter_point_number.encode("utf-8"))


def new_meter_key() -> LocalAccount:
    """A fresh random signer key for a meter (or its gateway)."""
    return Account.create()


def save_keystore(key: LocalAccount, path: Path, password: str) -> Path:
    """Encrypt the key as a V3 keystore (scrypt) at ``path``, readable by the owner only."""
    if not password:
        raise GridshareError("refusing to write a keystore with an empty password")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(Account.encrypt(key.key, password)))
    path.chmod(0o600)
    return path


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt a V3 keystore."""
    document = read_keystore(path)
    try:
        return Account.from_key(Account.decrypt(document, password))
    except (ValueError, KeyError, TypeError):
        raise GridshareError(f"cannot decrypt {path}: wrong password?") from None


def read_keystore(path: Path) -> dict:
    """A V3 keystore's JSON document, its shape checked (a file of another kind is refused in one line)."""
    if not path.exists():
        raise GridshareError(f"keystore {path} not found")
    if path.is_dir():
        raise GridshareError(f"keystore {path} is a folder: name the keystore file")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise GridshareError(f"{path} is not a V3 keystore (not JSON): name the file `gridshare meter new-key` "
                             "wrote") from None
    if not isinstance(document, dict):
        raise GridshareError(f"{path} is not a V3 keystore (not a JSON object)")
    missing = [k for k in ("version", "crypto") if k not in {key.lower() for key in document}]
    if missing or document.get("version") != 3:
        what = f"no {missing[0]!r}" if missing else f"version {document.get('version')!r}, not 3"
        raise GridshareError(f"{path} is not a V3 keystore ({what}): name the file `gridshare meter new-key` wrote")
    return document


def keystore_address(path: Path) -> str:
    """The address a V3 keystore holds, read without decrypting it (EIP-55 checksummed)."""
    address = read_keystore(path).get("address")
    try:
        return to_checksum_address("0x" + str(address).removeprefix("0x"))
    except ValueError:
        raise GridshareError(f"{path} holds no address: name the file `gridshare meter new-key` wrote") from None
