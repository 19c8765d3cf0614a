"""Our .proto files and our generator's descriptors checked against Debian's protoc.

(a) protoc accepts every .proto file unchanged, without warnings.
(b) healthledger-protoc's --descriptor_set_out equals protoc's, file by file: first on what reflection
    clients and code generators rely on (names, numbers, labels, types, json names, oneofs, proto3
    optional, enums, services, map entries, reserved ranges), then in full.
(c) the descriptors embedded in the generated Swift equal protoc's too (they are what server reflection
    serves).
"""

import difflib
import subprocess
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, text_format

from interop_paths import PROTO_ROOTS, REPO_ROOT, proto_files

ROOT_FILES = [(root, path) for root in PROTO_ROOTS for path in proto_files(root)]
ROOT_IDS = [f"{root.relative_to(REPO_ROOT)}:{path}" for root, path in ROOT_FILES]


def run_protoc(root: Path, files: list[str], output: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["protoc", f"-I{root}", f"--descriptor_set_out={output}", *files],
                          cwd=REPO_ROOT, capture_output=True, text=True)


def read_descriptor_set(path: Path) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    return {file.name: file for file in descriptor_set.file}


@pytest.mark.parametrize("root, path", ROOT_FILES, ids=ROOT_IDS)
def test_protoc_accepts_file_without_warnings(root, path, tmp_path):
    result = run_protoc(root, [path], tmp_path / "out.pb")
    assert result.returncode == 0 and result.stderr.strip() == "", (
        f"protoc -I {root.relative_to(REPO_ROOT)} {path}:\n{result.stderr}")


@pytest.fixture(scope="module")
def descriptor_sets(healthledger_protoc, tmp_path_factory):
    """For each include root: (ours, theirs) descriptor sets of all its files, by file name."""
    sets = {}
    for root in PROTO_ROOTS:
        files = proto_files(root)
        work = tmp_path_factory.mktemp(root.name)
        theirs = run_protoc(root, files, work / "theirs.pb")
        assert theirs.returncode == 0, theirs.stderr
        ours = subprocess.run(
            [str(healthledger_protoc), "-I", str(root), f"--swift_out={work / 'swift'}",
             f"--descriptor_set_out={work / 'ours.pb'}", *files],
            cwd=REPO_ROOT, capture_output=True, text=True)
        assert ours.returncode == 0, f"healthledger-protoc failed:\n{ours.stderr}"
        sets[root] = (read_descriptor_set(work / "ours.pb"), read_descriptor_set(work / "theirs.pb"))
    return sets


# --- the parts that matter, flattened to "path = value" lines so a mismatch reads as a diff ---

def file_lines(file: descriptor_pb2.FileDescriptorProto) -> list[str]:
    lines = [f"name = {file.name!r}", f"package = {file.package!r}", f"syntax = {file.syntax!r}",
             f"dependency = {list(file.dependency)}", f"public_dependency = {list(file.public_dependency)}",
             f"weak_dependency = {list(file.weak_dependency)}"]
    for message in file.message_type:
        lines += message_lines(message, f"message {message.name}")
    for enum in file.enum_type:
        lines += enum_lines(enum, f"enum {enum.name}")
    for service in file.service:
        where = f"service {service.name}"
        lines.append(f"{where} methods = {[method.name for method in service.method]}")
        for method in service.method:
            lines.append(f"{where}.{method.name} = {method.input_type} -> {method.output_type} "
                         f"client_streaming={method.client_streaming} server_streaming={method.server_streaming}")
    return lines


def message_lines(message: descriptor_pb2.DescriptorProto, where: str) -> list[str]:
    lines = [
        f"{where} fields = {[field.name for field in message.field]}",
        f"{where} nested = {[nested.name for nested in message.nested_type]}",
        f"{where} enums = {[enum.name for enum in message.enum_type]}",
        f"{where} oneofs = {[oneof.name for oneof in message.oneof_decl]}",
        f"{where} map_entry = {message.options.map_entry}",
        f"{where} reserved_range = {[(r.start, r.end) for r in message.reserved_range]}",
        f"{where} reserved_name = {list(message.reserved_name)}",
    ]
    for field in message.field:
        lines.append(
            f"{where}.{field.name} = number {field.number}, "
            f"label {descriptor_pb2.FieldDescriptorProto.Label.Name(field.label)}, "
            f"type {descriptor_pb2.FieldDescriptorProto.Type.Name(field.type)}, type_name {field.type_name!r}, "
            f"json_name {field.json_name!r}, "
            f"oneof_index {field.oneof_index if field.HasField('oneof_index') else None}, "
            f"proto3_optional {field.proto3_optional}, "
            f"packed {field.options.packed if field.options.HasField('packed') else None}")
    for nested in message.nested_type:
        lines += message_lines(nested, f"{where}.{nested.name}")
    for enum in message.enum_type:
        lines += enum_lines(enum, f"{where}.{enum.name}")
    return lines


def enum_lines(enum: descriptor_pb2.EnumDescriptorProto, where: str) -> list[str]:
    return [
        f"{where} values = {[(value.name, value.number) for value in enum.value]}",
        f"{where} allow_alias = {enum.options.allow_alias if enum.options.HasField('allow_alias') else None}",
        f"{where} reserved_range = {[(r.start, r.end) for r in enum.reserved_range]}",
        f"{where} reserved_name = {list(enum.reserved_name)}",
    ]


def full_text(file: descriptor_pb2.FileDescriptorProto) -> list[str]:
    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(file)
    copy.ClearField("source_code_info")
    clear_empty_options(copy)
    return text_format.MessageToString(copy).splitlines()


def clear_empty_options(message) -> None:
    """Drops `options {}` that are present but empty: protoc writes one for every `rpc ... {}` with a
    body, which carries no information."""
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.name == "options" and not value.ListFields():
            message.ClearField("options")
            continue
        for child in (value if field.is_repeated else [value]):
            clear_empty_options(child)


def diff(ours: list[str], theirs: list[str]) -> str:
    return "\n".join(difflib.unified_diff(theirs, ours, "protoc", "healthledger-protoc", lineterm="", n=2))


def pair(descriptor_sets, root, path):
    ours, theirs = descriptor_sets[root]
    assert path in ours, f"healthledger-protoc's descriptor set lacks {path} (has {sorted(ours)})"
    return ours[path], theirs[path]


@pytest.mark.parametrize("root, path", ROOT_FILES, ids=ROOT_IDS)
def test_descriptor_matches_protoc_where_it_matters(root, path, descriptor_sets):
    ours, theirs = pair(descriptor_sets, root, path)
    difference = diff(file_lines(ours), file_lines(theirs))
    assert not difference, f"{path}: descriptors differ (- protoc, + ours):\n{difference}"


@pytest.mark.parametrize("root, path", ROOT_FILES, ids=ROOT_IDS)
def test_descriptor_matches_protoc_in_full(root, path, descriptor_sets):
    """Everything protoc writes, options included (source info aside)."""
    ours, theirs = pair(descriptor_sets, root, path)
    difference = diff(full_text(ours), full_text(theirs))
    assert not difference, f"{path}: descriptors differ (- protoc, + ours):\n{difference}"


def test_descriptor_sets_list_the_same_files(descriptor_sets):
    for root, (ours, theirs) in descriptor_sets.items():
        assert sorted(ours) == sorted(theirs), f"files in the descriptor sets for -I {root}"


@pytest.fixture(scope="module")
def protoc_descriptors(tmp_path_factory) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """protoc's descriptor of every file under every root."""
    work = tmp_path_factory.mktemp("protoc-all")
    descriptors = {}
    for index, root in enumerate(PROTO_ROOTS):
        result = run_protoc(root, proto_files(root), work / f"{index}.pb")
        assert result.returncode == 0, result.stderr
        descriptors.update(read_descriptor_set(work / f"{index}.pb"))
    return descriptors


def test_descriptors_embedded_in_generated_swift_match_protoc(roundtrip_tool, protoc_descriptors):
    """`<File>ProtoFile.descriptor.serializedDescriptor` of every generated file parses and equals protoc's."""
    embedded = roundtrip_tool.descriptors()
    assert sorted(embedded) == sorted(protoc_descriptors), "generated files vs .proto files"
    problems = []
    for path, data in sorted(embedded.items()):
        ours = descriptor_pb2.FileDescriptorProto.FromString(data)
        difference = diff(file_lines(ours), file_lines(protoc_descriptors[path]))
        if difference:
            problems.append(f"{path} (- protoc, + embedded):\n{difference}")
    assert not problems, "\n\n".join(problems)
