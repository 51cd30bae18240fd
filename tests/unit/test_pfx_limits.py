"""A PFX's iteration counts, read from its ASN.1 before any key derivation."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from azsyncd.config import pfx_limits
from azsyncd.config.pfx_limits import NotPkcs12, PfxRefused, check, iteration_counts
from tests.fakes import pfx


@pytest.fixture(scope="module")
def honest() -> bytes:
    return pfx.honest_pfx()


def exported(encryption: object) -> bytes:
    key, cert = pfx.key_and_certificate()
    return pkcs12.serialize_key_and_certificates(b"x", key, cert, None, encryption)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "algorithm"),
    [
        (lambda: BestAvailableEncryption(b"pw"), pfx_limits.PBKDF2),
        (
            lambda: (
                PrivateFormat.PKCS12.encryption_builder()
                .kdf_rounds(50_000)
                .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                .hmac_hash(hashes.SHA1())
                .build(b"pw")
            ),
            "1.2.840.113549.1.12.1.3",
        ),
        (lambda: NoEncryption(), None),
    ],
)
def test_real_exports_pass_with_their_counts_read(build: object, algorithm: str | None) -> None:
    data = exported(build())  # type: ignore[operator]
    counts = iteration_counts(data)
    assert counts[0][0] == "mac"
    if algorithm:
        assert {oid for oid, _ in counts[1:]} == {algorithm}
    check(data)


def test_the_mac_and_a_key_bag_asking_too_much_are_refused(honest: bytes) -> None:
    for hostile in (
        pfx.with_mac_count(honest, pfx.HOSTILE_COUNT),
        pfx.with_key_bag_count(honest, pfx.HOSTILE_COUNT),
        pfx.with_mac_count(honest, pfx_limits.MAX_ITERATIONS + 1),
    ):
        with pytest.raises(PfxRefused, match="key-derivation iterations"):
            check(hostile)
    check(pfx.with_mac_count(honest, pfx_limits.MAX_ITERATIONS))
    with pytest.raises(PfxRefused, match="below 1"):
        check(pfx.with_mac_count(honest, 0))


def test_a_count_inside_the_encrypted_safe_cannot_be_seen_here(honest: bytes) -> None:
    """That one is for the child process's time limit (tests/service/adversarial)."""
    check(pfx.with_hidden_key_bag(honest, pfx.HOSTILE_COUNT))


def test_indefinite_lengths_are_read_as_der_is(honest: bytes) -> None:
    """BER as some exporters write it: the outer sequence with an indefinite length."""
    node = pfx.decode(pfx.with_mac_count(honest, pfx.HOSTILE_COUNT))
    body = b"".join(pfx.encode(child) for child in node.children)
    ber = b"\x30\x80" + body + b"\x00\x00"
    with pytest.raises(PfxRefused, match="2,147,483,647"):
        check(ber)


@pytest.mark.parametrize("junk", [b"", b"junk", b"\x30\x84\xff\xff\xff\xff", b"\x30\x80" * 50])
def test_what_is_no_pkcs12_file_says_so(junk: bytes) -> None:
    with pytest.raises(NotPkcs12):
        check(junk)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_counts_or_a_refusal_never_a_crash(data: bytes) -> None:
    try:
        iteration_counts(data)
    except PfxRefused:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2500), st.integers(0, 255))
def test_a_damaged_pfx_gives_counts_or_a_refusal(where: int, value: int) -> None:
    data = bytearray(HONEST)
    data[where % len(data)] = value
    try:
        iteration_counts(bytes(data))
    except PfxRefused:
        pass


HONEST = pfx.honest_pfx()
