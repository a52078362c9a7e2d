"""The NT hash behind the Samba user operation: MD4 against RFC 1320's vectors, NT hash against a known one."""

import pytest

from mediabox.ntlm import fingerprint, md4, nt_hash


@pytest.mark.parametrize("message, digest", [
    (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
    (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
    (b"message digest", "d9130a8164549fe818874806e1c7014b"),
    (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
])
def test_md4_matches_rfc_1320(message, digest):
    assert md4(message).hex() == digest


def test_nt_hash_of_a_known_password():
    assert nt_hash("password") == "8846F7EAEE8FB117AD06BDD830B7586C"


def test_fingerprint_reveals_neither_password_nor_hash():
    value = fingerprint("password")
    assert len(value) == 64 and "8846F7" not in value.upper()
