"""How hard a PFX makes its reader work, read from its ASN.1 before any key derivation.

A PKCS#12 file names its own iteration counts: the MAC's, and each encrypted part's (PBES1,
the PKCS#12 PBEs, PBES2 with PBKDF2, PBMAC1). OpenSSL runs every one of them, holding
Python's interpreter lock, before it can tell a wrong passphrase from a right one: a 1.3 KB
file with a MAC count of 2^31-1 keeps the daemon busy for minutes. Windows and OpenSSL
export with 2,048 to 600,000; ``MAX_ITERATIONS`` leaves room above that and refuses the rest,
as it refuses a key derivation it does not know (scrypt, whose memory cost is the file's to
choose).

The walk reads BER as well as DER (some exporters write indefinite lengths and chunked
octet strings) and looks inside every octet string that holds ASN.1 (the authenticated safe,
unencrypted bags). What an encrypted part holds it cannot see: ``pfx_child`` opens the file
in a process of its own, under a time limit, for that.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ITERATIONS = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 20_000

SEQUENCE, SET, OCTET_STRING, INTEGER, OID = 0x30, 0x31, 0x04, 0x02, 0x06
CONSTRUCTED_OCTET_STRING = 0x24

_PKCS5 = "1.2.840.113549.1.5."
PBKDF2 = _PKCS5 + "12"
PBES2 = _PKCS5 + "13"
PBMAC1 = _PKCS5 + "14"
# PBES1 (PKCS#5 v1.5) and the PKCS#12 PBEs: params are SEQUENCE { salt, iterations }.
SALT_AND_COUNT = {
    *(_PKCS5 + n for n in ("1", "3", "4", "6", "10", "11")),
    *(f"1.2.840.113549.1.12.1.{n}" for n in range(1, 7)),
}


class PfxRefused(ValueError):
    """The PFX asks for more work than any real one does, or is no PKCS#12 file."""


class NotPkcs12(PfxRefused):
    """The bytes are no PKCS#12 structure."""


@dataclass
class Node:
    tag: int
    content: bytes = b""  # primitive types
    children: list[Node] | None = None  # constructed types

    def oid(self) -> str | None:
        return _oid(self.content) if self.tag == OID else None


class _Reader:
    def __init__(self) -> None:
        self.nodes = 0

    def read_all(self, data: bytes, depth: int) -> list[Node]:
        nodes, offset = [], 0
        while offset < len(data):
            node, offset = self.read(data, offset, depth)
            if node is None:
                raise NotPkcs12("end-of-contents outside an indefinite length")
            nodes.append(node)
        return nodes

    def read(self, data: bytes, offset: int, depth: int) -> tuple[Node | None, int]:
        if depth > MAX_DEPTH:
            raise NotPkcs12("nested too deep")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NotPkcs12("too many elements")
        if offset + 2 > len(data):
            raise NotPkcs12("cut short")
        tag, first = data[offset], data[offset + 1]
        offset += 2
        if tag & 0x1F == 0x1F:
            raise NotPkcs12("a high tag number")  # none in PKCS#12
        if tag == 0 and first == 0:
            return None, offset  # end-of-contents
        constructed = bool(tag & 0x20)
        if first == 0x80:  # indefinite length (BER)
            if not constructed:
                raise NotPkcs12("an indefinite length on a primitive element")
            children: list[Node] = []
            while True:
                child, offset = self.read(data, offset, depth + 1)
                if child is None:
                    return Node(tag, children=children), offset
                children.append(child)
        length, offset = _length(data, offset, first)
        end = offset + length
        if end > len(data):
            raise NotPkcs12("an element longer than the file")
        body = data[offset:end]
        if constructed:
            return Node(tag, children=self.read_all(body, depth + 1)), end
        return Node(tag, content=body), end


def _length(data: bytes, offset: int, first: int) -> tuple[int, int]:
    if first < 0x80:
        return first, offset
    size = first & 0x7F
    if size > 4 or offset + size > len(data):
        raise NotPkcs12("a length that does not fit")
    return int.from_bytes(data[offset : offset + size], "big"), offset + size


def _oid(raw: bytes) -> str:
    if not raw:
        raise NotPkcs12("an empty object identifier")
    values, value = [], 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(value)
            value = 0
    first = min(values[0] // 40, 2)
    return ".".join(str(v) for v in (first, values[0] - 40 * first, *values[1:]))


def _integer(node: Node) -> int:
    if node.tag != INTEGER or not node.content or len(node.content) > 16:
        raise PfxRefused("an iteration count that is no integer")
    return int.from_bytes(node.content, "big", signed=True)


def _octets(node: Node) -> bytes | None:
    """The bytes of an octet string, primitive or chunked (BER)."""
    if node.tag == OCTET_STRING:
        return node.content
    if node.tag == CONSTRUCTED_OCTET_STRING and node.children is not None:
        parts = [_octets(child) for child in node.children]
        return None if any(p is None for p in parts) else b"".join(p or b"" for p in parts)
    return None


class _Walk:
    def __init__(self) -> None:
        self.reader = _Reader()
        self.counts: list[tuple[str, int]] = []

    def node(self, node: Node, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise NotPkcs12("nested too deep")
        octets = _octets(node)
        if octets is not None:
            self.inside(octets, depth)
            return
        children = node.children or []
        algorithm = children[0].oid() if children and node.tag == SEQUENCE else None
        if algorithm is not None:
            self.algorithm(algorithm, children[1:])
        for child in children:
            self.node(child, depth + 1)

    def inside(self, octets: bytes, depth: int) -> None:
        """An octet string's content, if it is ASN.1 (a safe, a bag); else nothing to see."""
        if not octets or octets[0] not in (SEQUENCE, SET):
            return
        try:
            nodes = self.reader.read_all(octets, depth + 1)
        except NotPkcs12:
            return  # ciphertext or a digest, not ASN.1
        for node in nodes:
            self.node(node, depth + 1)

    def algorithm(self, oid: str, params: list[Node]) -> None:
        fields = params[0].children if params and params[0].tag == SEQUENCE else None
        if oid == PBKDF2 or oid in SALT_AND_COUNT:
            if not fields or len(fields) < 2:
                raise PfxRefused(f"the parameters of {oid} lack an iteration count")
            self.counts.append((oid, _integer(fields[1])))
        elif oid in (PBES2, PBMAC1):
            kdf = fields[0].children if fields and fields[0].children else None
            if not kdf or kdf[0].oid() != PBKDF2:
                shown = kdf[0].oid() if kdf else None
                raise PfxRefused(f"a key derivation other than PBKDF2 ({shown or 'none'})")


def iteration_counts(data: bytes) -> list[tuple[str, int]]:
    """Every (algorithm, iteration count) the PFX names where it can be read unencrypted; the
    MAC's as ("mac", n). PfxRefused if the file is no PKCS#12 structure."""
    walk = _Walk()
    nodes = walk.reader.read_all(data, 0)
    if len(nodes) != 1 or nodes[0].tag != SEQUENCE or not nodes[0].children:
        raise NotPkcs12("the file is not one ASN.1 sequence")
    pfx = nodes[0].children
    if len(pfx) < 2 or pfx[0].tag != INTEGER or pfx[1].tag != SEQUENCE:
        raise NotPkcs12("no version and authenticated safe")
    mac = pfx[2].children if len(pfx) > 2 and pfx[2].tag == SEQUENCE else None
    if mac and len(mac) > 2:
        walk.counts.append(("mac", _integer(mac[2])))
    walk.node(nodes[0], 0)
    return walk.counts


def check(data: bytes, limit: int = MAX_ITERATIONS) -> None:
    """PfxRefused naming the largest count if any is over ``limit`` (or below 1)."""
    counts = iteration_counts(data)
    worst = max((n for _, n in counts), default=1)
    if worst > limit:
        raise PfxRefused(
            f"it asks for {worst:,} key-derivation iterations; real ones use at most {limit:,}"
        )
    if any(n < 1 for _, n in counts):
        raise PfxRefused("an iteration count below 1")
