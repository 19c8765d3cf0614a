"""Principal ids and key ids (identity.proto): Bech32m (BIP-350) under "hl" and lowercase hex SHA-256.

Implemented here from BIP-173/BIP-350 rather than taken from a library, so the only dependency of an id is
hashlib; the published vectors are in the tests."""

from __future__ import annotations

import hashlib

from .errors import InvalidPrincipalId

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONSTANT = 0x2BC830A3
BECH32_CONSTANT = 1
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

#: The human-readable part of every principal id.
PRINCIPAL_HRP = "hl"
#: Bytes of SHA-256 over the first public key that a principal id encodes.
PRINCIPAL_PAYLOAD_BYTES = 20
#: Characters in a principal id: "hl1", 32 data characters, a 6-character checksum.
PRINCIPAL_ID_LENGTH = 41


def bech32_polymod(values: list[int]) -> int:
    """The BCH checksum polynomial of BIP-173, shared by Bech32 and Bech32m."""
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for bit, generator in enumerate(_BECH32_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def bech32_hrp_expand(hrp: str) -> list[int]:
    """The human-readable part as the checksum sees it: high bits, a zero, low bits."""
    return [ord(character) >> 5 for character in hrp] + [0] + [ord(character) & 31 for character in hrp]


def convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroups from_bits-bit values into to_bits-bit values (BIP-173 convertbits); ValueError on bad input."""
    accumulator, bits, result = 0, 0, []
    max_value = (1 << to_bits) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise ValueError(f"value {value} does not fit in {from_bits} bits")
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            result.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            result.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits or ((accumulator << (to_bits - bits)) & max_value):
        raise ValueError("non-zero padding")
    return result


def bech32m_encode(hrp: str, payload: bytes, constant: int = BECH32M_CONSTANT) -> str:
    """The Bech32m string of `payload` under `hrp`; with `constant` BECH32_CONSTANT, the original Bech32 form
    (BIP-173), which a Bech32m reader must refuse."""
    data = convert_bits(payload, 8, 5, pad=True)
    polymod = bech32_polymod(bech32_hrp_expand(hrp) + data + [0] * 6) ^ constant
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[value] for value in data + checksum)


def bech32m_decode_values(text: str) -> tuple[str, list[int]]:
    """Splits a Bech32m string into its human-readable part and 5-bit data values (checksum removed);
    ValueError for mixed case, bad characters, bad lengths or a checksum that is not Bech32m's."""
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    if any(ord(character) < 33 or ord(character) > 126 for character in text):
        raise ValueError("character outside US-ASCII 33..126")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text) or len(text) > 90:
        raise ValueError("bad separator position or length")
    hrp, data_part = text[:separator], text[separator + 1:]
    if any(character not in BECH32_CHARSET for character in data_part):
        raise ValueError("character outside the Bech32 alphabet")
    values = [BECH32_CHARSET.index(character) for character in data_part]
    if bech32_polymod(bech32_hrp_expand(hrp) + values) != BECH32M_CONSTANT:
        raise ValueError("bad checksum")
    return hrp, values[:-6]


def key_id(key_bytes: bytes) -> str:
    """Key id: lowercase hex SHA-256 of the raw public key bytes (64 characters)."""
    return hashlib.sha256(key_bytes).hexdigest()


def principal_id(first_key_bytes: bytes) -> str:
    """Principal id: Bech32m under "hl" of the first 20 bytes of SHA-256 of the principal's first public key."""
    return bech32m_encode(PRINCIPAL_HRP, hashlib.sha256(first_key_bytes).digest()[:PRINCIPAL_PAYLOAD_BYTES])


def parse_principal_id(text: str) -> str:
    """`text` when it is a principal id in the exact lowercase form the node accepts; InvalidPrincipalId,
    saying what is wrong, otherwise (the node would answer INVALID_ARGUMENT)."""
    if not isinstance(text, str):
        raise InvalidPrincipalId(repr(text), "not a string")
    if text != text.lower():
        raise InvalidPrincipalId(text, "must be lowercase")
    if len(text) != PRINCIPAL_ID_LENGTH:
        raise InvalidPrincipalId(text, f"has {len(text)} characters, a principal id has {PRINCIPAL_ID_LENGTH}")
    try:
        hrp, values = bech32m_decode_values(text)
        payload = convert_bits(values, 5, 8, pad=False)
    except ValueError as error:
        raise InvalidPrincipalId(text, str(error)) from None
    if hrp != PRINCIPAL_HRP:
        raise InvalidPrincipalId(text, f'human-readable part "{hrp}", expected "{PRINCIPAL_HRP}"')
    if len(payload) != PRINCIPAL_PAYLOAD_BYTES:
        raise InvalidPrincipalId(text, f"encodes {len(payload)} bytes, expected {PRINCIPAL_PAYLOAD_BYTES}")
    return text
