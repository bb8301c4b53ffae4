import hmac as std_hmac

import pytest

from citybase.standards.crypto import (
    DecryptionError,
    hmac_sm3,
    sm3,
    sm3_hex,
    sm3_stream,
    sm4_decrypt_gcm,
    sm4_encrypt_block,
    sm4_encrypt_gcm,
)


def test_sm3_abc_vector():
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3(b"abc") == bytes.fromhex(sm3_hex(b"abc"))
    assert len(sm3(b"")) == 32


def test_streaming_sm3_matches_the_one_shot_digest(monkeypatch):
    """Large files are hashed in chunks (OpenSSL via hashlib when it has SM3, else cryptography's):
    both give the standard digest."""
    import hashlib

    data = bytes(range(256)) * 5000
    for patched in (False, True):
        if patched:  # an OpenSSL without SM3 in hashlib
            monkeypatch.setattr(hashlib, "new", lambda name: (_ for _ in ()).throw(ValueError(name)))
        h = sm3_stream()
        h.update(b"a")
        h.update(b"bc")
        assert h.hexdigest() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        h = sm3_stream()
        for i in range(0, len(data), 4096):
            h.update(data[i:i + 4096])
        assert h.hexdigest() == sm3_hex(data)


def test_sm4_block_vector():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    assert sm4_encrypt_block(key, key).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_rfc8998_vector():
    # RFC 8998 appendix A.1 (SM4-GCM)
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    pt = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    ct = sm4_encrypt_gcm(key, pt, nonce, aad)
    assert ct[:-16].hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    assert ct[-16:].hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"
    assert sm4_decrypt_gcm(key, ct, nonce, aad) == pt


def test_sm4_gcm_roundtrip_and_tamper():
    key, nonce = bytes(range(16)), bytes(12)
    ct = sm4_encrypt_gcm(key, "无锡市大数据管理局".encode(), nonce)
    assert sm4_decrypt_gcm(key, ct, nonce).decode() == "无锡市大数据管理局"
    bad = bytearray(ct)
    bad[0] ^= 1
    with pytest.raises(DecryptionError):
        sm4_decrypt_gcm(key, bytes(bad), nonce)
    with pytest.raises(DecryptionError):
        sm4_decrypt_gcm(key, ct, nonce, aad=b"other")
    with pytest.raises(ValueError):
        sm4_encrypt_gcm(b"short", b"x", nonce)


def _manual_hmac(key: bytes, msg: bytes) -> bytes:
    block = 64
    if len(key) > block:
        key = sm3(key)
    key = key.ljust(block, b"\0")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return sm3(opad + sm3(ipad + msg))


@pytest.mark.parametrize("key", [b"k", b"secret-key-0123456789", b"x" * 100])
def test_hmac_sm3_matches_rfc2104_construction(key):
    msg = b"320281197001010012"
    assert hmac_sm3(key, msg) == _manual_hmac(key, msg)
    assert std_hmac.compare_digest(hmac_sm3(key, msg), hmac_sm3(key, msg))


def test_hmac_sm3_key_dependence():
    assert hmac_sm3(b"a", b"data") != hmac_sm3(b"b", b"data")
    assert hmac_sm3(b"a", b"data") != hmac_sm3(b"a", b"datb")
