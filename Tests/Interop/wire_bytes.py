"""Hand-built protobuf wire bytes: unknown-field streams, mutations of valid encodings, and a readable dump
for failure messages. https://protobuf.dev/programming-guides/encoding/"""

import random

VARINT, FIXED64, LENGTH_DELIMITED, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
MAX_FIELD_NUMBER = 2**29 - 1


def varint(value: int) -> bytes:
    """Minimal varint of a non-negative value (negative values: their 64-bit two's complement)."""
    value &= 2**64 - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def padded_varint(value: int, length: int) -> bytes:
    """A non-minimal varint of exactly `length` bytes (<= 10): legal, and kept verbatim in unknown fields."""
    minimal = varint(value)
    if length <= len(minimal):
        return minimal
    body = bytearray(minimal)
    body[-1] |= 0x80
    body += b"\x80" * (length - len(minimal) - 1) + b"\x00"
    return bytes(body)


def tag(field_number: int, wire_type: int) -> bytes:
    return varint((field_number << 3) | wire_type)


def length_delimited(field_number: int, body: bytes) -> bytes:
    return tag(field_number, LENGTH_DELIMITED) + varint(len(body)) + body


def random_field_number(rng: random.Random, avoid: frozenset[int] = frozenset()) -> int:
    """A field number, often at a tag-length boundary, never one in `avoid`."""
    while True:
        number = rng.choice([
            rng.randint(1, 15), rng.randint(16, 2047), rng.choice([1, 15, 16, 2047, 2048, 262143, 262144,
                                                                    33554431, 33554432, MAX_FIELD_NUMBER,
                                                                    18999, 19000, 19999, 20000]),
            rng.randint(1, MAX_FIELD_NUMBER),
        ])
        if number not in avoid:
            return number


def random_unknown_fields(rng: random.Random, avoid: frozenset[int] = frozenset(), depth: int = 0) -> bytes:
    """A valid stream of fields of every wire type, groups (nested) included, with odd but legal
    encodings such as non-minimal varints. None of its field numbers are in `avoid`."""
    out = bytearray()
    for _ in range(rng.randint(1 if depth == 0 else 0, 6)):
        number = random_field_number(rng, avoid)
        wire_type = rng.choice([VARINT, VARINT, FIXED64, LENGTH_DELIMITED, LENGTH_DELIMITED, FIXED32]
                               + ([START_GROUP] if depth < 3 else []))
        if wire_type == VARINT:
            value = rng.choice([0, 1, 127, 128, 2**63, 2**64 - 1, rng.getrandbits(rng.randint(1, 64))])
            encoded = padded_varint(value, rng.randint(1, 10)) if rng.random() < 0.2 else varint(value)
            out += tag(number, VARINT) + encoded
        elif wire_type == FIXED64:
            out += tag(number, FIXED64) + rng.randbytes(8)
        elif wire_type == FIXED32:
            out += tag(number, FIXED32) + rng.randbytes(4)
        elif wire_type == LENGTH_DELIMITED:
            body = rng.randbytes(rng.choice([0, 1, 5, 127, 128, 300]))
            out += length_delimited(number, body)
        else:
            out += tag(number, START_GROUP) + random_unknown_fields(rng, frozenset(), depth + 1)
            out += tag(number, END_GROUP)
    return bytes(out)


INTERESTING_BYTES = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x0A, 0x0B, 0x0C, 0x0E, 0x0F, 0x12, 0x1A]


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One random mutation of `data`: (kind, result). Byte-level kinds (truncate, flip, set, insert, delete,
    splice, overlong-length) mostly break the encoding; field-level kinds (duplicate-field, swap-fields,
    drop-field) keep it valid and exercise merging: a repeated singular field's last value wins, a
    repeated message field merges, a oneof switches."""
    kind = rng.choice(["truncate", "flip", "set", "insert", "delete", "splice", "overlong-length",
                       "duplicate-field", "swap-fields", "drop-field"])
    if kind in ("duplicate-field", "swap-fields", "drop-field"):
        try:
            boundaries = field_boundaries(data)
        except IndexError:
            boundaries = []
        if len(boundaries) >= 2:
            fields = [data[a:b] for a, b in zip(boundaries, boundaries[1:])]
            index = rng.randrange(len(fields))
            if kind == "duplicate-field":
                fields.insert(rng.randrange(len(fields) + 1), fields[index])
            elif kind == "swap-fields":
                other = rng.randrange(len(fields))
                fields[index], fields[other] = fields[other], fields[index]
            else:
                del fields[index]
            return kind, b"".join(fields)
        kind = "flip"
    buffer = bytearray(data)
    if kind == "truncate" or not buffer:
        return "truncate", bytes(buffer[:rng.randrange(len(buffer))]) if buffer else b""
    position = rng.randrange(len(buffer))
    if kind == "flip":
        for _ in range(rng.randint(1, 3)):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    elif kind == "set":
        buffer[position] = rng.choice(INTERESTING_BYTES + [rng.randrange(256)])
    elif kind == "insert":
        buffer[position:position] = rng.randbytes(rng.randint(1, 8))
    elif kind == "delete":
        del buffer[position:position + rng.randint(1, 8)]
    elif kind == "splice":
        start = rng.randrange(len(buffer))
        buffer[position:position] = buffer[start:start + rng.randint(1, 32)]
    else:
        # A huge length prefix: must be rejected before anything is allocated for it.
        buffer[position:position] = rng.choice([b"\x0a", b"\x12", b"\x1a"]) + rng.choice(
            [b"\xff\xff\xff\xff\x0f", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\x80\x80\x80\x80\x08"])
    return kind, bytes(buffer)


def dump(data: bytes, limit: int = 40) -> str:
    """Top-level fields of `data` as `number:wiretype=value` lines, for failure messages."""
    lines = []
    position = 0
    try:
        while position < len(data) and len(lines) < limit:
            start = position
            key, position = read_varint(data, position)
            number, wire_type = key >> 3, key & 7
            if wire_type == VARINT:
                value, position = read_varint(data, position)
                shown = str(value)
            elif wire_type == FIXED64:
                shown, position = data[position:position + 8].hex(), position + 8
            elif wire_type == FIXED32:
                shown, position = data[position:position + 4].hex(), position + 4
            elif wire_type == LENGTH_DELIMITED:
                length, position = read_varint(data, position)
                body = data[position:position + length]
                position += length
                shown = f"len={length} {body[:48].hex()}{'...' if length > 48 else ''}"
            else:
                shown = "(group marker)"
            lines.append(f"  @{start}: field {number} wt {wire_type} = {shown}")
    except IndexError:
        lines.append(f"  @{position}: (truncated)")
    if position < len(data) and len(lines) >= limit:
        lines.append("  ...")
    return "\n".join(lines) if lines else "  (empty)"


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, position
        if shift >= 70:
            raise IndexError("varint too long")


def first_difference(a: bytes, b: bytes) -> int:
    """Offset of the first differing byte (the shorter length when one is a prefix of the other)."""
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def field_boundaries(data: bytes) -> list[int]:
    """Offsets where top-level fields start, plus len(data): where other fields may be inserted."""
    boundaries = [0]
    position = 0
    depth = 0
    while position < len(data):
        key, position = read_varint(data, position)
        wire_type = key & 7
        if wire_type == VARINT:
            _, position = read_varint(data, position)
        elif wire_type == FIXED64:
            position += 8
        elif wire_type == FIXED32:
            position += 4
        elif wire_type == LENGTH_DELIMITED:
            length, position = read_varint(data, position)
            position += length
        elif wire_type == START_GROUP:
            depth += 1
        elif wire_type == END_GROUP:
            depth -= 1
        if depth == 0:
            boundaries.append(position)
    return boundaries
