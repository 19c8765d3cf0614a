"""Fills any protobuf message with seeded random content through its descriptor, favouring the values
where encoders disagree: zero, -1, the limits of every integer type, varint length boundaries, -0.0, NaN
(with payloads), infinities, subnormals, empty/long/astral strings, empty/large bytes, unknown enum
numbers, several map entries, every oneof case, nested messages."""

import math
import random
import struct
import unicodedata

from google.protobuf.descriptor import FieldDescriptor

MAX_DEPTH = 3

T = FieldDescriptor
SIGNED_32 = (T.TYPE_INT32, T.TYPE_SINT32, T.TYPE_SFIXED32)
SIGNED_64 = (T.TYPE_INT64, T.TYPE_SINT64, T.TYPE_SFIXED64)
UNSIGNED_32 = (T.TYPE_UINT32, T.TYPE_FIXED32)
UNSIGNED_64 = (T.TYPE_UINT64, T.TYPE_FIXED64)


def integer_range(field_type: int) -> tuple[int, int]:
    """The inclusive range of an integer field type."""
    if field_type in SIGNED_32:
        return -(2**31), 2**31 - 1
    if field_type in SIGNED_64:
        return -(2**63), 2**63 - 1
    if field_type in UNSIGNED_32:
        return 0, 2**32 - 1
    return 0, 2**64 - 1


def random_integer(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high], often an extreme or a varint/zigzag length boundary."""
    roll = rng.random()
    if roll < 0.35:
        candidates = [0, 1, low, high, low + 1, high - 1]
        if low < 0:
            candidates += [-1, -2]
        for bits in (7, 14, 21, 28, 31, 35, 42, 49, 56, 63):
            for value in (2**bits - 1, 2**bits, -(2**bits), -(2**bits) - 1, 2**(bits - 1)):
                if low <= value <= high:
                    candidates.append(value)
        return rng.choice(candidates)
    if roll < 0.7:
        return max(low, min(high, rng.randint(-300, 300)))
    return rng.randint(low, high)


DOUBLE_SPECIALS = [
    0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 0.1, math.pi,
    5e-324, -5e-324,                                  # smallest subnormal
    2.225073858507201e-308,                           # largest subnormal
    2.2250738585072014e-308,                          # smallest normal
    1.7976931348623157e308, -1.7976931348623157e308,  # largest finite
    2.0**53, 2.0**53 + 2, 2.0**63, 2.0**64,
]
FLOAT_SPECIALS = [
    0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 0.5, 16777216.0,
    1.401298464324817e-45, -1.401298464324817e-45,    # smallest float32 subnormal
    1.1754942106924411e-38,                           # largest float32 subnormal
    1.1754943508222875e-38,                           # smallest float32 normal
    3.4028234663852886e38, -3.4028234663852886e38,    # largest float32
]


def random_double(rng: random.Random) -> float:
    """A double, often special; sometimes an arbitrary bit pattern (NaNs with payloads included)."""
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(DOUBLE_SPECIALS)
    if roll < 0.7:
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    return rng.uniform(-1e6, 1e6)


def random_float(rng: random.Random) -> float:
    """A value exactly representable as float32, often special or an arbitrary 32-bit pattern."""
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(FLOAT_SPECIALS)
    if roll < 0.7:
        return struct.unpack("<f", rng.getrandbits(32).to_bytes(4, "little"))[0]
    return struct.unpack("<f", struct.pack("<f", rng.uniform(-1e6, 1e6)))[0]


def random_scalar_character(rng: random.Random) -> str:
    """One Unicode scalar (never a surrogate), from ASCII, Latin, CJK, combining marks or astral planes."""
    roll = rng.random()
    if roll < 0.4:
        return chr(rng.randint(0x20, 0x7E))
    if roll < 0.5:
        return chr(rng.choice([0x00, 0x7F, 0x80, 0xFF, 0x7FF, 0x800, 0xFFFD, 0xFEFF, 0xFFFE, 0xFFFF,
                               0x10000, 0x10FFFF, 0x1F600, 0x0301, 0x0323]))
    if roll < 0.6:
        return chr(rng.randint(0x0300, 0x036F))  # combining diacritical marks
    if roll < 0.8:
        code_point = rng.randint(0x80, 0xFFFF)
        return chr(code_point if not 0xD800 <= code_point <= 0xDFFF else code_point - 0x800)
    return chr(rng.randint(0x10000, 0x10FFFF))


def random_string(rng: random.Random) -> str:
    """Empty, short, or long text over the whole Unicode range."""
    roll = rng.random()
    if roll < 0.2:
        return ""
    length = rng.randint(1, 12) if roll < 0.97 else rng.randint(100, 2000)
    return "".join(random_scalar_character(rng) for _ in range(length))


def random_bytes(rng: random.Random) -> bytes:
    """Empty, short, every-byte-value or large byte strings."""
    roll = rng.random()
    if roll < 0.2:
        return b""
    if roll < 0.95:
        return rng.randbytes(rng.randint(1, 16))
    if roll < 0.99:
        return bytes(range(256))
    return rng.randbytes(rng.randint(1000, 70000))


def random_enum_number(rng: random.Random, field: FieldDescriptor) -> int:
    """A declared value (aliases included) or, since proto3 enums are open, any int32."""
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(field.enum_type.values).number
    return random_integer(rng, -(2**31), 2**31 - 1)


def random_value(rng: random.Random, field: FieldDescriptor):
    """A random non-message value for a scalar or enum field."""
    field_type = field.type
    if field_type == T.TYPE_DOUBLE:
        return random_double(rng)
    if field_type == T.TYPE_FLOAT:
        return random_float(rng)
    if field_type == T.TYPE_BOOL:
        return rng.random() < 0.5
    if field_type == T.TYPE_STRING:
        return random_string(rng)
    if field_type == T.TYPE_BYTES:
        return random_bytes(rng)
    if field_type == T.TYPE_ENUM:
        return random_enum_number(rng, field)
    return random_integer(rng, *integer_range(field_type))


def random_count(rng: random.Random, depth: int) -> int:
    """How many elements a repeated field or map gets: often none or few, sometimes many at the top
    level (nested levels stay small so messages don't grow exponentially)."""
    roll = rng.random()
    if roll < 0.3:
        return 0
    if roll < 0.95 or depth > 0:
        return rng.randint(1, 4 if depth == 0 else 2)
    return rng.randint(5, 40)


def is_map(field: FieldDescriptor) -> bool:
    return field.type == T.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def fill_message(rng: random.Random, message, depth: int = 0) -> None:
    """Fills `message` in place. Message-typed fields nest at most MAX_DEPTH levels below the top."""
    descriptor = message.DESCRIPTOR
    for oneof in descriptor.oneofs:
        if len(oneof.fields) == 1 and is_synthetic_oneof(oneof.fields[0]):
            continue  # synthetic oneof of a proto3 `optional`: handled as its field below
        choices = [field for field in oneof.fields if field.type != T.TYPE_MESSAGE or depth < MAX_DEPTH]
        if choices and rng.random() < 0.8:
            set_field(rng, message, rng.choice(choices), depth)
    for field in descriptor.fields:
        if field.containing_oneof is not None and not is_synthetic_oneof(field):
            continue
        if field.type == T.TYPE_MESSAGE and not is_map(field) and depth >= MAX_DEPTH:
            continue
        if field.has_presence and not field.is_repeated and rng.random() < 0.4:
            continue  # explicit presence: leave unset
        set_field(rng, message, field, depth)


def is_synthetic_oneof(field: FieldDescriptor) -> bool:
    """Whether the field's oneof is the synthetic one a proto3 `optional` creates."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == "_" + field.name


def set_field(rng: random.Random, message, field: FieldDescriptor, depth: int) -> None:
    """Gives one field a random value (set, even to zero, when the field has presence)."""
    if is_map(field):
        fill_map(rng, getattr(message, field.name), field, depth)
    elif field.is_repeated:
        container = getattr(message, field.name)
        for _ in range(random_count(rng, depth) if depth < MAX_DEPTH or field.type != T.TYPE_MESSAGE else 0):
            if field.type == T.TYPE_MESSAGE:
                fill_message(rng, container.add(), depth + 1)
            else:
                container.append(random_value(rng, field))
    elif field.type == T.TYPE_MESSAGE:
        child = getattr(message, field.name)
        child.SetInParent()
        fill_message(rng, child, depth + 1)
    else:
        setattr(message, field.name, random_value(rng, field))


def fill_map(rng: random.Random, container, field: FieldDescriptor, depth: int) -> None:
    """Adds random entries. String keys that are canonically equivalent Unicode (NFC-equal) are skipped:
    Swift's String equality would merge them, a known limitation tested on its own."""
    key_field = field.message_type.fields_by_name["key"]
    value_field = field.message_type.fields_by_name["value"]
    seen_normalized = set()
    count = random_count(rng, depth)
    if value_field.type == T.TYPE_MESSAGE and depth >= MAX_DEPTH:
        count = 0
    for _ in range(count):
        key = random_value(rng, key_field)
        if key_field.type == T.TYPE_STRING:
            normalized = unicodedata.normalize("NFC", key)
            if normalized in seen_normalized:
                continue
            seen_normalized.add(normalized)
        if value_field.type == T.TYPE_MESSAGE:
            fill_message(rng, container[key], depth + 1)
        else:
            container[key] = random_value(rng, value_field)


def random_message(rng: random.Random, message_class):
    """A new random message of `message_class`."""
    message = message_class()
    fill_message(rng, message)
    return message
