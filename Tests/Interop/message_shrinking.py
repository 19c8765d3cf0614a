"""Shrinks a failing random message to a small one that still fails, so bug reports show a minimal case."""

from typing import Callable

from google.protobuf.descriptor import FieldDescriptor


def shrink(message, fails: Callable[[object], bool], budget: int = 300):
    """Greedily clears fields, trims repeated fields and maps to one element, and recurses into
    sub-messages while `fails(candidate)` stays true; returns the smallest failing message found."""
    current = clone(message)
    attempts = 0
    changed = True
    while changed and attempts < budget:
        changed = False
        for candidate in smaller_variants(current):
            attempts += 1
            if fails(candidate):
                current = candidate
                changed = True
                break
            if attempts >= budget:
                break
    return current


def clone(message):
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def smaller_variants(message):
    """Candidates one step smaller than `message`, biggest steps first: clear a field, keep one element of
    a repeated field or map, drop one element, shrink a sub-message."""
    present = message.ListFields()
    for field, _ in present:
        candidate = clone(message)
        candidate.ClearField(field.name)
        yield candidate
    for field, value in present:
        is_map = field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry
        if is_map and len(value) > 1:
            for key in list(value.keys()):
                candidate = clone(message)
                container = getattr(candidate, field.name)
                for other in [k for k in container.keys() if k != key]:
                    del container[other]
                yield candidate
        elif field.is_repeated and not is_map and len(value) > 1:
            for index in range(len(value)):
                candidate = clone(message)
                container = getattr(candidate, field.name)
                del container[index + 1:]
                del container[:index]
                yield candidate
    for field, value in present:
        is_map = field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry
        if is_map and len(value) > 1:
            for key in list(value.keys()):
                candidate = clone(message)
                del getattr(candidate, field.name)[key]
                yield candidate
        elif field.is_repeated and not is_map and len(value) > 1:
            for index in range(len(value)):
                candidate = clone(message)
                del getattr(candidate, field.name)[index]
                yield candidate
    for field, value in present:
        if field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated:
            for smaller in smaller_variants(value):
                candidate = clone(message)
                getattr(candidate, field.name).CopyFrom(smaller)
                yield candidate
