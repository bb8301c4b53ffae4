"""Keyed pseudonyms (GB/T 37964 de-identification): HMAC-SM3, never a bare hash.

The identity-number space is small enough to enumerate, so an unkeyed hash of an ID number
is reversible by brute force; the key must be kept secret and managed like any other key.
"""

from __future__ import annotations

from .crypto import hmac_sm3

__all__ = ["pseudonymize"]


def pseudonymize(value: str, key: bytes) -> str:
    """Deterministic pseudonym: lower-case hex HMAC-SM3 of the UTF-8 value under ``key``."""
    if not key:
        raise ValueError("假名化密钥不能为空")
    return hmac_sm3(bytes(key), str(value).encode("utf-8")).hex()
