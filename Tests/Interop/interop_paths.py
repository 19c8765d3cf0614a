"""Where the interop tests find the repository, its .proto files and the Swift build."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Include roots and the .proto files under each, as protoc -I sees them.
API_PROTO_ROOT = REPO_ROOT / "proto"
FIXTURE_PROTO_ROOT = REPO_ROOT / "Tests" / "WireFixtures" / "proto"
PROTO_ROOTS = (API_PROTO_ROOT, FIXTURE_PROTO_ROOT)


def proto_files(root: Path) -> list[str]:
    """Include-relative paths ("healthledger/v1/ledger.proto") of every .proto file under `root`, sorted."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*.proto"))


def swift_scratch_path() -> Path:
    """The SwiftPM scratch path: $HEALTHLEDGER_SWIFT_BUILD_PATH (relative to the repo root) or .build."""
    configured = os.environ.get("HEALTHLEDGER_SWIFT_BUILD_PATH", ".build")
    path = Path(configured)
    return path if path.is_absolute() else REPO_ROOT / path
