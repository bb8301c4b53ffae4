"""商用密码 primitives: SM3 hash, HMAC-SM3 and SM4 (GCM, plus a raw block for test vectors).

All from ``cryptography`` (OpenSSL).  SM2 is not offered here: ``cryptography`` lacks it and
the pure-Python alternatives draw nonces from a non-cryptographic generator.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "SM4_KEY_SIZE",
    "SM4_TAG_SIZE",
    "DecryptionError",
    "hmac_sm3",
    "sm3",
    "sm3_hex",
    "sm3_stream",
    "sm4_decrypt_gcm",
    "sm4_encrypt_block",
    "sm4_encrypt_gcm",
]

SM4_KEY_SIZE = 16
SM4_TAG_SIZE = 16


class DecryptionError(ValueError):
    """SM4-GCM authentication failed: wrong key, nonce, AAD or tampered ciphertext."""


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes) of ``data``."""
    h = hashes.Hash(hashes.SM3())
    h.update(bytes(data))
    return h.finalize()


def sm3_hex(data: bytes) -> str:
    """SM3 digest as 64 lower-case hex characters."""
    return sm3(data).hex()


class Sm3Stream(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class _CryptographySm3:
    def __init__(self) -> None:
        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes, /) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.finalize().hex()


def sm3_stream() -> Sm3Stream:
    """An incremental SM3 hasher (``update`` / ``hexdigest``). Uses OpenSSL through ``hashlib`` when
    it offers SM3: that one releases the GIL on large updates, so a file can be hashed in a thread
    while other work runs (and it is ~20 % faster); otherwise ``cryptography``'s."""
    try:
        h: Any = hashlib.new("sm3")
    except ValueError:
        return _CryptographySm3()
    return h


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (RFC 2104 construction over SM3) of ``data`` under ``key``."""
    h = hmac.HMAC(bytes(key), hashes.SM3())
    h.update(bytes(data))
    return h.finalize()


def _check_key(key: bytes) -> bytes:
    key = bytes(key)
    if len(key) != SM4_KEY_SIZE:
        raise ValueError(f"SM4 密钥必须为 {SM4_KEY_SIZE} 字节，实际 {len(key)} 字节")
    return key


def sm4_encrypt_block(key: bytes, block: bytes) -> bytes:
    """Encrypt exactly one 16-byte block with raw SM4 (for test vectors, not for data)."""
    block = bytes(block)
    if len(block) != 16:
        raise ValueError("SM4 分组长度必须为 16 字节")
    enc = Cipher(algorithms.SM4(_check_key(key)), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def sm4_encrypt_gcm(key: bytes, plaintext: bytes, nonce: bytes, aad: bytes | None = None) -> bytes:
    """SM4-GCM encryption; returns ciphertext followed by the 16-byte tag.

    ``nonce`` should be 12 random bytes and must never repeat under one key.
    """
    nonce = bytes(nonce)
    if len(nonce) < 8:
        raise ValueError("SM4-GCM 随机数（nonce）至少 8 字节，建议 12 字节")
    enc = Cipher(algorithms.SM4(_check_key(key)), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(bytes(aad))
    ct = enc.update(bytes(plaintext)) + enc.finalize()
    return ct + enc.tag


def sm4_decrypt_gcm(key: bytes, ciphertext: bytes, nonce: bytes, aad: bytes | None = None) -> bytes:
    """Inverse of :func:`sm4_encrypt_gcm` (``ciphertext`` includes the trailing tag).

    Raises :class:`DecryptionError` (a ``ValueError``) when authentication fails.
    """
    data = bytes(ciphertext)
    if len(data) < SM4_TAG_SIZE:
        raise DecryptionError("密文过短，缺少认证标签")
    body, tag = data[:-SM4_TAG_SIZE], data[-SM4_TAG_SIZE:]
    dec = Cipher(algorithms.SM4(_check_key(key)), modes.GCM(bytes(nonce), tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(bytes(aad))
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag as exc:
        raise DecryptionError("SM4-GCM 认证失败：密钥、随机数、附加数据或密文不匹配") from exc
