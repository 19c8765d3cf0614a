"""Compares protobuf messages field by field, treating floats by bit pattern so NaN equals NaN and
-0.0 differs from 0.0 (Python's == says the opposite for both)."""

import math
import struct

from google.protobuf.descriptor import FieldDescriptor


def first_difference(a, b, path: str = "") -> str | None:
    """Where `a` and `b` (same type) first differ, e.g. "maps.int32_to_leaf[3].name: 'x' != 'y'", or None."""
    fields = {field.name: field for field in a.DESCRIPTOR.fields}
    a_set = {field.name: value for field, value in a.ListFields()}
    b_set = {field.name: value for field, value in b.ListFields()}
    for name in sorted(set(a_set) | set(b_set), key=lambda n: fields[n].number):
        where = f"{path}.{name}" if path else name
        if name not in a_set or name not in b_set:
            return f"{where}: set on {'right' if name in b_set else 'left'} side only"
        field = fields[name]
        difference = value_difference(field, a_set[name], b_set[name], where)
        if difference:
            return difference
    return None


def value_difference(field: FieldDescriptor, a, b, where: str) -> str | None:
    if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        if set(a.keys()) != set(b.keys()):
            return f"{where}: keys {sorted(map(repr, a.keys()))} != {sorted(map(repr, b.keys()))}"
        for key in a.keys():
            difference = single_difference(value_field, a[key], b[key], f"{where}[{key!r}]")
            if difference:
                return difference
        return None
    if field.is_repeated:
        if len(a) != len(b):
            return f"{where}: {len(a)} elements != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b)):
            difference = single_difference(field, x, y, f"{where}[{index}]")
            if difference:
                return difference
        return None
    return single_difference(field, a, b, where)


def single_difference(field: FieldDescriptor, a, b, where: str) -> str | None:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return first_difference(a, b, where)
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        same = struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    elif field.type == FieldDescriptor.TYPE_FLOAT:
        same = struct.pack("<f", a) == struct.pack("<f", b) or (math.isnan(a) and math.isnan(b))
    else:
        same = a == b and type(a) is type(b)
    return None if same else f"{where}: {a!r} != {b!r}"
