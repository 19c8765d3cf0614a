#!/usr/bin/env python3
"""Writes seed inputs for fuzz-protobuf-decode: for every generated message type, its selector byte followed by an
empty message and by one with every field set (nested messages two levels deep), encoded by Python's protobuf
from the same proto/ files.

Run from the repository root after Fuzz/generate-message-types: .venv/bin/python Fuzz/make-protobuf-seeds.py
"""

import glob
import os
import re
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message_factory import GetMessageClass
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "Corpus", "fuzz-protobuf-decode")
LIST = os.path.join(HERE, "Sources", "fuzz-protobuf-decode", "GeneratedMessageTypes.swift")

SCALARS = {
    FieldDescriptor.TYPE_DOUBLE: -1.5, FieldDescriptor.TYPE_FLOAT: 2.5, FieldDescriptor.TYPE_INT64: -7,
    FieldDescriptor.TYPE_UINT64: 2**63, FieldDescriptor.TYPE_INT32: -1, FieldDescriptor.TYPE_FIXED64: 2**64 - 1,
    FieldDescriptor.TYPE_FIXED32: 7, FieldDescriptor.TYPE_BOOL: True, FieldDescriptor.TYPE_STRING: "héllo",
    FieldDescriptor.TYPE_BYTES: b"\x00\xff", FieldDescriptor.TYPE_UINT32: 300, FieldDescriptor.TYPE_SFIXED32: -3,
    FieldDescriptor.TYPE_SFIXED64: -4, FieldDescriptor.TYPE_SINT32: -5, FieldDescriptor.TYPE_SINT64: -6,
}


def fill(message, depth):
    for field in message.DESCRIPTOR.fields:
        if field.containing_oneof is not None and message.WhichOneof(field.containing_oneof.name):
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            key_value = SCALARS[key.type]
            if value.message_type is not None:
                if depth > 0:
                    fill(getattr(message, field.name)[key_value], depth - 1)
            elif value.enum_type is not None:
                getattr(message, field.name)[key_value] = value.enum_type.values[-1].number
            else:
                getattr(message, field.name)[key_value] = SCALARS[value.type]
        elif field.message_type is not None:
            if depth == 0:
                continue
            target = getattr(message, field.name).add() if field.is_repeated else getattr(message, field.name)
            fill(target, depth - 1)
            if not field.is_repeated:
                target.SetInParent()
        else:
            value = field.enum_type.values[-1].number if field.enum_type is not None else SCALARS[field.type]
            if field.is_repeated:
                getattr(message, field.name).extend([value, value])
            else:
                setattr(message, field.name, value)


def main():
    names = re.findall(r"\.self,  // (\S+)", open(LIST).read())
    with tempfile.TemporaryDirectory() as generated:
        protos = sorted(glob.glob(os.path.join(ROOT, "proto", "**", "*.proto"), recursive=True))
        include = [f"-I{protoc.__file__.rsplit('/', 1)[0]}/_proto"]
        descriptors = os.path.join(generated, "descriptors.pb")
        arguments = [f"-I{ROOT}/proto", *include, "--include_imports", f"--descriptor_set_out={descriptors}"]
        if protoc.main(["protoc", *arguments, *protos]) != 0:
            sys.exit("protoc failed")
        # A pool of its own: proto/ has its own google.protobuf and grpc files, which the installed packages'
        # modules of the same names would clash with.
        pool = descriptor_pool.DescriptorPool()
        for file in descriptor_pb2.FileDescriptorSet.FromString(open(descriptors, "rb").read()).file:
            pool.Add(file)
        os.makedirs(OUT, exist_ok=True)
        for index, name in enumerate(names):
            message_class = GetMessageClass(pool.FindMessageTypeByName(name))
            selector = bytes([index])
            full = message_class()
            fill(full, 2)
            for suffix, payload in (("empty", b""), ("full", full.SerializeToString())):
                with open(os.path.join(OUT, f"{name}.{suffix}"), "wb") as file:
                    file.write(selector + payload)
    print(f"{len(names)} message types, {2 * len(names)} seeds in {OUT}")


if __name__ == "__main__":
    main()
