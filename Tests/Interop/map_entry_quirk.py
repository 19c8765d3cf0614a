"""Detects the one place where valid protobuf implementations legitimately re-encode differently: a map
entry holding fields other than key (1) and value (2). C++ and Java (and our runtime) keep key and value
and drop the rest; upb (Python) keeps the whole entry verbatim as an unknown field of the parent and
leaves the key out of the map."""

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from wire_bytes import END_GROUP, FIXED32, FIXED64, LENGTH_DELIMITED, START_GROUP, VARINT, read_varint

T = FieldDescriptor
FIXED64_TYPES = {T.TYPE_DOUBLE, T.TYPE_FIXED64, T.TYPE_SFIXED64}
FIXED32_TYPES = {T.TYPE_FLOAT, T.TYPE_FIXED32, T.TYPE_SFIXED32}
LENGTH_DELIMITED_TYPES = {T.TYPE_STRING, T.TYPE_BYTES, T.TYPE_MESSAGE}


def wire_type_of(field: FieldDescriptor) -> int:
    if field.type in FIXED64_TYPES:
        return FIXED64
    if field.type in FIXED32_TYPES:
        return FIXED32
    if field.type in LENGTH_DELIMITED_TYPES:
        return LENGTH_DELIMITED
    return VARINT


def is_map(field: FieldDescriptor) -> bool:
    return field.type == T.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def fields_of(data: bytes):
    """(number, wire type, body-or-None) of each field at this level; groups are skipped whole."""
    position = 0
    while position < len(data):
        key, position = read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            _, position = read_varint(data, position)
            yield number, wire_type, None
        elif wire_type == FIXED64:
            position += 8
            yield number, wire_type, None
        elif wire_type == FIXED32:
            position += 4
            yield number, wire_type, None
        elif wire_type == LENGTH_DELIMITED:
            length, position = read_varint(data, position)
            yield number, wire_type, data[position:position + length]
            position += length
        elif wire_type == START_GROUP:
            depth = 1
            while depth:
                inner, position = read_varint(data, position)
                inner_type = inner & 7
                if inner_type == START_GROUP:
                    depth += 1
                elif inner_type == END_GROUP:
                    depth -= 1
                elif inner_type == VARINT:
                    _, position = read_varint(data, position)
                elif inner_type == FIXED64:
                    position += 8
                elif inner_type == FIXED32:
                    position += 4
                elif inner_type == LENGTH_DELIMITED:
                    length, position = read_varint(data, position)
                    position += length
            yield number, wire_type, None
        else:
            raise ValueError("unexpected wire type")


def has_map_entry_with_extra_fields(descriptor: Descriptor, data: bytes) -> bool:
    """Whether any map entry, at any depth of this valid encoding, holds a field other than a well-typed
    key or value."""
    try:
        return _search(descriptor, data)
    except (IndexError, ValueError):
        return False


def _search(descriptor: Descriptor, data: bytes) -> bool:
    by_number = {field.number: field for field in descriptor.fields}
    for number, wire_type, body in fields_of(data):
        field = by_number.get(number)
        if body is None or field is None or field.type != T.TYPE_MESSAGE:
            continue
        if not is_map(field):
            if _search(field.message_type, body):
                return True
            continue
        entry = field.message_type
        for inner_number, inner_type, inner_body in fields_of(body):
            inner_field = entry.fields_by_number.get(inner_number)
            if inner_field is None or wire_type_of(inner_field) != inner_type:
                return True
            if inner_field.type == T.TYPE_MESSAGE and _search(inner_field.message_type, inner_body):
                return True
    return False
