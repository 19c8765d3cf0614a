"""healthledger-protoc as a user runs it: bad .proto input gets `file:line:column: message` on stderr, a
non-zero exit, and no output files at all — not even for the good files in the same run."""

import subprocess
from pathlib import Path

import pytest

GOOD = 'syntax = "proto3";\npackage demo.v1;\nmessage Ok { string name = 1; }\n'

BAD_INPUTS = {
    "syntax error": ('syntax = "proto3";\nmessage Broken { int32 a = 1 }\n', "bad.proto:2:"),
    "duplicate field number": (
        'syntax = "proto3";\nmessage Twice {\n  int32 a = 1;\n  int32 b = 1;\n}\n', "bad.proto:4:"),
    "unknown type": ('syntax = "proto3";\nmessage Lost {\n  Missing m = 1;\n}\n', "bad.proto:3:"),
    "reserved number in use": (
        'syntax = "proto3";\nmessage Kept {\n  reserved 2;\n  int32 a = 2;\n}\n', "bad.proto:4:"),
    "reserved name in use": (
        'syntax = "proto3";\nmessage Kept {\n  reserved "a";\n  int32 a = 1;\n}\n', "bad.proto:4:"),
    "proto2 syntax": ('syntax = "proto2";\nmessage Old { optional int32 a = 1; }\n', "bad.proto:1:"),
}


def run_generator(protoc: Path, workdir: Path, files: list[str]) -> subprocess.CompletedProcess:
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    return subprocess.run(
        [str(protoc), "-I", str(workdir / "src"), f"--swift_out={out}", *files],
        capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_reported_with_its_location_and_nothing_is_written(healthledger_protoc, tmp_path, case):
    source, location_prefix = BAD_INPUTS[case]
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.proto").write_text(GOOD)
    (src / "bad.proto").write_text(source)

    result = run_generator(healthledger_protoc, tmp_path, ["good.proto", "bad.proto"])

    assert result.returncode != 0, f"{case}: the generator accepted bad input"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, f"{case}: nothing on stderr"
    assert any(line.startswith(location_prefix) for line in lines), (
        f"{case}: expected a diagnostic starting with {location_prefix!r}, got:\n{result.stderr}")
    assert list((tmp_path / "out").iterdir()) == [], f"{case}: files were written despite the error"


def test_good_input_is_generated(healthledger_protoc, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.proto").write_text(GOOD)

    result = run_generator(healthledger_protoc, tmp_path, ["good.proto"])

    assert result.returncode == 0, result.stderr
    generated = (tmp_path / "out" / "good.pb.swift").read_text()
    assert generated.startswith("// DO NOT EDIT.")
    assert "public struct Demo_V1_Ok: ProtoMessage" in generated
