"""PFX (PKCS#12) files as an attacker writes them: valid, small, and asking for billions of
key-derivation rounds, where the reader can see it (the MAC, a key bag) or only after
decrypting (a key bag inside an encrypted safe).

Built from a real PFX that cryptography writes, edited as ASN.1 with a codec of its own (not
the daemon's), re-encrypted and re-MACed with the PKCS#12 algorithms (RFC 7292, RFC 8018) so
that OpenSSL accepts every layer up to the hostile key derivation.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12
from cryptography.x509.oid import NameOID

HOSTILE_COUNT = 2**31 - 1
PASSPHRASE = b"pfx-pass-phrase"
BASE_COUNT = 2048


@dataclass
class Der:
    tag: int
    content: bytes = b""
    children: list[Der] = field(default_factory=list)

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


def decode(data: bytes) -> Der:
    node, end = _decode(data, 0)
    assert end == len(data)
    return node


def _decode(data: bytes, offset: int) -> tuple[Der, int]:
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first & 0x80:
        size = first & 0x7F
        length = int.from_bytes(data[offset : offset + size], "big")
        offset += size
    else:
        length = first
    body, end = data[offset : offset + length], offset + length
    if not tag & 0x20:
        return Der(tag, body), end
    children, at = [], 0
    while at < len(body):
        child, at = _decode(body, at)
        children.append(child)
    return Der(tag, children=children), end


def encode(node: Der) -> bytes:
    body = b"".join(encode(c) for c in node.children) if node.constructed else node.content
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)])
    if n >= 0x80:
        length += n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([node.tag]) + length + body


def integer(value: int) -> Der:
    return Der(0x02, value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True))


def key_and_certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azsync test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def honest_pfx(passphrase: bytes = PASSPHRASE) -> bytes:
    """What Windows or OpenSSL 3 export: PBES2 (PBKDF2-SHA256, AES-256) and an SHA-256 MAC."""
    key, cert = key_and_certificate()
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(BASE_COUNT)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase)
    )
    return pkcs12.serialize_key_and_certificates(b"azsync", key, cert, None, encryption)


def _auth_safe(pfx: Der) -> Der:
    """The AuthenticatedSafe (a SEQUENCE of ContentInfo) inside the PFX's data ContentInfo."""
    octets = pfx.children[1].children[1].children[0]
    return decode(octets.content)


def _with_auth_safe(pfx: Der, safe: Der, passphrase: bytes) -> bytes:
    content = encode(safe)
    pfx.children[1].children[1].children[0] = Der(0x04, content)
    mac = pfx.children[2]
    salt, count = mac.children[1].content, int.from_bytes(mac.children[2].content, "big")
    key = pkcs12_kdf(passphrase, salt, 3, count, 32)
    mac.children[0].children[1] = Der(0x04, hmac.new(key, content, hashlib.sha256).digest())
    return encode(pfx)


def with_mac_count(data: bytes, count: int) -> bytes:
    """The issue's file: a valid PFX whose MAC asks for ``count`` iterations. Its MAC value is
    left as it was: OpenSSL derives the key (all the rounds) before it can find it wrong."""
    pfx = decode(data)
    pfx.children[2].children[2] = integer(count)
    return encode(pfx)


def _bags(safe: Der) -> tuple[Der, Der]:
    """(the encrypted safe with the certificate, the plain safe with the shrouded key bag)."""
    encrypted = next(ci for ci in safe.children if _oid_tail(ci.children[0]) == b"\x07\x06")
    plain = next(ci for ci in safe.children if _oid_tail(ci.children[0]) == b"\x07\x01")
    return encrypted, plain


def _oid_tail(node: Der) -> bytes:
    return node.content[-2:]


def _pbkdf2_count(algorithm: Der) -> Der:
    """The iteration count INTEGER of a PBES2 AlgorithmIdentifier, to edit in place."""
    pbes2_params = algorithm.children[1]
    return pbes2_params.children[0].children[1].children[1]


def with_key_bag_count(data: bytes, count: int, passphrase: bytes = PASSPHRASE) -> bytes:
    """A valid PFX whose shrouded key bag asks for ``count`` PBKDF2 iterations, in the clear."""
    pfx = decode(data)
    safe = _auth_safe(pfx)
    _, plain = _bags(safe)
    contents = decode(plain.children[1].children[0].content)
    bag = contents.children[0]
    algorithm = bag.children[1].children[0].children[0]
    count_node = _pbkdf2_count(algorithm)
    count_node.tag, count_node.content = integer(count).tag, integer(count).content
    plain.children[1].children[0] = Der(0x04, encode(contents))
    return _with_auth_safe(pfx, safe, passphrase)


def with_hidden_key_bag(data: bytes, count: int, passphrase: bytes = PASSPHRASE) -> bytes:
    """A valid PFX whose key bag, asking for ``count`` iterations, sits inside the encrypted
    safe: no reader sees that count before decrypting with the passphrase. The MAC and the
    encrypted safe use 2,048 iterations and are correct, so OpenSSL reaches the bag."""
    pfx = decode(data)
    safe = _auth_safe(pfx)
    encrypted, plain = _bags(safe)
    key_bags = decode(plain.children[1].children[0].content)
    bag = key_bags.children[0]
    count_node = _pbkdf2_count(bag.children[1].children[0].children[0])
    count_node.content = integer(count).content
    # The encrypted safe now holds the key bag too, encrypted with its own PBES2 parameters.
    encrypted_info = encrypted.children[1].children[0].children[1]
    algorithm = encrypted_info.children[1]
    certs = decrypt_pbes2(algorithm, encrypted_info.children[2].content, passphrase)
    inside = decode(certs)
    inside.children.append(bag)
    encrypted_info.children[2] = Der(0x80, encrypt_pbes2(algorithm, encode(inside), passphrase))
    safe.children = [encrypted]
    return _with_auth_safe(pfx, safe, passphrase)


def _pbes2_key_iv(algorithm: Der, passphrase: bytes) -> tuple[bytes, bytes]:
    kdf, scheme = algorithm.children[1].children
    salt = kdf.children[1].children[0].content
    count = int.from_bytes(kdf.children[1].children[1].content, "big")
    iv = scheme.children[1].content
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, count).derive(passphrase)
    return key, iv


def decrypt_pbes2(algorithm: Der, ciphertext: bytes, passphrase: bytes) -> bytes:
    key, iv = _pbes2_key_iv(algorithm, passphrase)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def encrypt_pbes2(algorithm: Der, plaintext: bytes, passphrase: bytes) -> bytes:
    key, iv = _pbes2_key_iv(algorithm, passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def pkcs12_kdf(passphrase: bytes, salt: bytes, purpose: int, count: int, size: int) -> bytes:
    """RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64); the password as a BMPString."""
    u, v = 32, 64
    password = (passphrase.decode("utf-8") + "\0").encode("utf-16-be") if passphrase else b""

    def fill(data: bytes) -> bytes:
        return (data * (v * ((len(data) + v - 1) // v) // max(1, len(data)) + 1))[
            : v * ((len(data) + v - 1) // v)
        ]

    block = fill(salt) + fill(password)
    out = b""
    while len(out) < size:
        a = hashlib.sha256(bytes([purpose]) * v + block).digest()
        for _ in range(count - 1):
            a = hashlib.sha256(a).digest()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big")
        block = b"".join(
            ((int.from_bytes(block[i : i + v], "big") + b + 1) % (1 << (8 * v))).to_bytes(v, "big")
            for i in range(0, len(block), v)
        )
    return out[:size]


def random_passphrase() -> bytes:
    return os.urandom(9).hex().encode()
