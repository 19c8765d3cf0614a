"""Re-sorts map entries in an encoding into the order C++, Java and Go use for deterministic output and
our contract requires: ascending by key, integers numerically (signed types signed), strings by UTF-8
bytes, false before true.

Python's upb backend also sorts under deterministic=True but emits integer and bool keys in descending
(unsigned) order, so its bytes are the reference for everything except the order of map entries."""

import struct

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from map_entry_quirk import fields_of, is_map
from wire_bytes import read_varint, tag, varint

T = FieldDescriptor


def key_of(key_field: FieldDescriptor, entry: bytes):
    """The sort key of one map entry body."""
    raw = None
    for number, wire_type, body in _fields_with_values(entry):
        if number == 1:
            raw = body
    kind = key_field.type
    if kind == T.TYPE_STRING:
        return raw or b""
    if raw is None:
        return 0
    if kind in (T.TYPE_FIXED32, T.TYPE_FIXED64):
        return int.from_bytes(raw, "little")
    if kind == T.TYPE_SFIXED32:
        return struct.unpack("<i", raw)[0]
    if kind == T.TYPE_SFIXED64:
        return struct.unpack("<q", raw)[0]
    value = raw
    if kind in (T.TYPE_SINT32, T.TYPE_SINT64):
        value &= 2**32 - 1 if kind == T.TYPE_SINT32 else 2**64 - 1
        return (value >> 1) ^ -(value & 1)
    if kind == T.TYPE_INT32:
        value &= 2**32 - 1
        return value - 2**32 if value >= 2**31 else value
    if kind == T.TYPE_INT64:
        value &= 2**64 - 1
        return value - 2**64 if value >= 2**63 else value
    if kind == T.TYPE_UINT32:
        return value & (2**32 - 1)
    if kind == T.TYPE_BOOL:
        return 1 if value else 0
    return value  # uint64


def _fields_with_values(data: bytes):
    """(number, wire type, value) where value is the varint, the fixed bytes or the body."""
    position = 0
    while position < len(data):
        key, position = read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = read_varint(data, position)
        elif wire_type == 1:
            value, position = data[position:position + 8], position + 8
        elif wire_type == 5:
            value, position = data[position:position + 4], position + 4
        elif wire_type == 2:
            length, position = read_varint(data, position)
            value, position = data[position:position + length], position + length
        else:
            raise ValueError("groups do not occur in map entries")
        yield number, wire_type, value


def canonical_map_order(descriptor: Descriptor, data: bytes) -> bytes:
    """`data` (a valid encoding of `descriptor`, known fields first as every serializer writes them) with
    the entries of every map, at every depth, in ascending key order."""
    by_number = {field.number: field for field in descriptor.fields}
    chunks: list[tuple[int | None, bytes]] = []  # (map field number or None, encoded field)
    position = 0
    for number, wire_type, body in fields_of(data):
        start = position
        position = _skip_one(data, position)
        chunk = data[start:position]
        field = by_number.get(number)
        if body is not None and field is not None and field.type == T.TYPE_MESSAGE:
            if is_map(field):
                chunk = tag(number, 2) + varint(len(body)) + _canonical_entry(field, body)
                chunks.append((number, chunk))
                continue
            inner = canonical_map_order(field.message_type, body)
            chunk = tag(number, 2) + varint(len(inner)) + inner
        chunks.append((None, chunk))

    out = bytearray()
    index = 0
    while index < len(chunks):
        number, chunk = chunks[index]
        if number is None:
            out += chunk
            index += 1
            continue
        run_end = index
        while run_end < len(chunks) and chunks[run_end][0] == number:
            run_end += 1
        key_field = by_number[number].message_type.fields_by_name["key"]
        run = [c for _, c in chunks[index:run_end]]
        run.sort(key=lambda encoded: key_of(key_field, _entry_body(encoded)))
        for encoded in run:
            out += encoded
        index = run_end
    return bytes(out)


def _canonical_entry(field: FieldDescriptor, body: bytes) -> bytes:
    value_field = field.message_type.fields_by_name["value"]
    if value_field.type != T.TYPE_MESSAGE:
        return body
    out = bytearray()
    for number, wire_type, value in _fields_with_values(body):
        if number == 2 and wire_type == 2:
            inner = canonical_map_order(value_field.message_type, value)
            out += tag(2, 2) + varint(len(inner)) + inner
        elif wire_type == 2:
            out += tag(number, 2) + varint(len(value)) + value
        elif wire_type == 0:
            out += tag(number, 0) + varint(value)
        else:
            out += tag(number, wire_type) + value
    return bytes(out)


def _entry_body(encoded: bytes) -> bytes:
    _, position = read_varint(encoded, 0)
    length, position = read_varint(encoded, position)
    return encoded[position:position + length]


def _skip_one(data: bytes, position: int) -> int:
    """Position after the field (groups included) starting at `position`."""
    depth = 0
    while True:
        key, position = read_varint(data, position)
        wire_type = key & 7
        if wire_type == 0:
            _, position = read_varint(data, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        elif wire_type == 2:
            length, position = read_varint(data, position)
            position += length
        elif wire_type == 3:
            depth += 1
        elif wire_type == 4:
            depth -= 1
        if depth == 0:
            return position
