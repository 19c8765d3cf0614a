"""Builds the Swift executables under test and talks to protobuf-roundtrip over its binary protocol."""

import os
import shlex
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from interop_paths import REPO_ROOT, swift_scratch_path

STATUS_OK = 0
STATUS_DECODE_ERROR = 1
STATUS_UNKNOWN_TYPE = 2


class SwiftBuildError(Exception):
    """`swift build` failed; the message holds the end of its output."""


def swift_build_flags() -> list[str]:
    """Extra `swift build` arguments from $HEALTHLEDGER_SWIFT_BUILD_FLAGS (e.g. "--sanitize=address"): a scratch
    path built with them must be rebuilt with the same ones, or SwiftPM would rebuild it without."""
    return shlex.split(os.environ.get("HEALTHLEDGER_SWIFT_BUILD_FLAGS", ""))


def build_product(product: str) -> Path:
    """Builds one SwiftPM product with the configured scratch path and returns the executable's path."""
    scratch = swift_scratch_path()
    command = ["swift", "build", "--product", product, "--scratch-path", str(scratch), *swift_build_flags()]
    for _ in range(3):
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        # Someone editing sources during the build is not a build failure: build again.
        if result.returncode == 0 or "was modified during the build" not in result.stdout + result.stderr:
            break
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        errors = [line for line in output if "error:" in line]
        shown = "\n".join((errors or output)[-60:])
        raise SwiftBuildError(f"{' '.join(command)} failed (exit {result.returncode}):\n{shown}")
    bin_dir = subprocess.run(
        ["swift", "build", "--show-bin-path", "--scratch-path", str(scratch), *swift_build_flags()],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    return Path(bin_dir) / product


@dataclass(frozen=True)
class Response:
    """One answer from protobuf-roundtrip: status 0 with re-encoded bytes, or 1/2 with error text."""

    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    @property
    def error_kind(self) -> str:
        """The ProtoDecodingError.Kind name the tool puts before the first colon of an error."""
        return self.body.decode("utf-8", "replace").split(":", 1)[0] if not self.ok else ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class ToolFailure(Exception):
    """The tool crashed, hung, or answered with a broken response stream."""


@dataclass
class Crash:
    """A single request that made the tool crash or hang."""

    type_name: str
    payload: bytes
    detail: str


def encode_requests(requests: list[tuple[str, bytes]]) -> bytes:
    """Frames requests: u32 LE name length, name, u32 LE payload length, payload."""
    parts = []
    for type_name, payload in requests:
        name = type_name.encode()
        parts += [struct.pack("<I", len(name)), name, struct.pack("<I", len(payload)), payload]
    return b"".join(parts)


def decode_responses(data: bytes) -> list[Response]:
    """Parses response records: status byte, u32 LE length, body."""
    responses = []
    position = 0
    while position < len(data):
        if len(data) - position < 5:
            raise ToolFailure(f"response stream truncated at byte {position}")
        status = data[position]
        (length,) = struct.unpack_from("<I", data, position + 1)
        position += 5
        if len(data) - position < length:
            raise ToolFailure(f"response body truncated at byte {position}")
        responses.append(Response(status, data[position:position + length]))
        position += length
    return responses


class RoundTripTool:
    """Runs protobuf-roundtrip on batches of (type name, payload) requests."""

    def __init__(self, executable: Path):
        self.executable = executable

    def run_batch(self, requests: list[tuple[str, bytes]], as_empty: bool = False,
                  timeout: float = 300) -> list[Response]:
        """Answers every request in one process; raises ToolFailure when the process does not answer all."""
        command = [str(self.executable)] + (["--as-empty"] if as_empty else [])
        try:
            result = subprocess.run(command, input=encode_requests(requests), capture_output=True,
                                    timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise ToolFailure(f"timed out after {timeout} s") from error
        if result.returncode != 0:
            stderr = result.stderr.decode("utf-8", "replace").strip()[-2000:]
            raise ToolFailure(f"exit status {result.returncode}: {stderr}")
        responses = decode_responses(result.stdout)
        if len(responses) != len(requests):
            raise ToolFailure(f"{len(responses)} responses for {len(requests)} requests")
        return responses

    def run_batch_isolating_crashes(self, requests: list[tuple[str, bytes]], as_empty: bool = False
                                    ) -> tuple[list[Response | None], list[Crash]]:
        """Like run_batch, but when the process fails, splits the batch until each failing request is
        found; those get None and are listed as crashes."""
        try:
            return list(self.run_batch(requests, as_empty)), []
        except ToolFailure as failure:
            if len(requests) == 1:
                return [None], [Crash(requests[0][0], requests[0][1], str(failure))]
        middle = len(requests) // 2
        first, first_crashes = self.run_batch_isolating_crashes(requests[:middle], as_empty)
        second, second_crashes = self.run_batch_isolating_crashes(requests[middle:], as_empty)
        return first + second, first_crashes + second_crashes

    def run_one(self, type_name: str, payload: bytes, as_empty: bool = False) -> Response:
        """Answers a single request."""
        return self.run_batch([(type_name, payload)], as_empty)[0]

    def list_types(self) -> list[str]:
        """Every message name the tool has registered."""
        result = subprocess.run([str(self.executable), "--list-types"], capture_output=True, text=True,
                                check=True, timeout=60)
        return result.stdout.split()

    def descriptors(self) -> dict[str, bytes]:
        """The serialized FileDescriptorProto embedded in each generated file, by path."""
        result = subprocess.run([str(self.executable), "--descriptors"], capture_output=True, check=True,
                                timeout=60)
        data = result.stdout
        files = {}
        position = 0
        while position < len(data):
            fields = []
            for _ in range(2):
                (length,) = struct.unpack_from("<I", data, position)
                fields.append(data[position + 4:position + 4 + length])
                position += 4 + length
            files[fields[0].decode()] = fields[1]
        return files
