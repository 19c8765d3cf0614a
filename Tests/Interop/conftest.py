"""Shared fixtures of the interop tests: the Swift tools under test (built once per session), the Python
protobuf modules generated from the same .proto files, and the random seed."""

import atexit
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from python_protos import PythonProtos, load_python_protos  # noqa: E402
from swift_tools import RoundTripTool, SwiftBuildError, build_product  # noqa: E402

_python_protos: PythonProtos | None = None


def python_protos() -> PythonProtos:
    """The generated Python modules, made once per process (collection needs the message names)."""
    global _python_protos
    if _python_protos is None:
        output_dir = Path(tempfile.mkdtemp(prefix="healthledger-python-protos-"))
        atexit.register(shutil.rmtree, output_dir, ignore_errors=True)
        _python_protos = load_python_protos(output_dir)
    return _python_protos


DEFAULT_DIFF_SEED = 20261126


def diff_seed() -> int:
    """$HEALTHLEDGER_DIFF_SEED; "random" picks a fresh seed for the session. The default is fixed so that a
    run is reproducible; the seed in use is printed in the header and summary either way."""
    configured = os.environ.get("HEALTHLEDGER_DIFF_SEED", str(DEFAULT_DIFF_SEED))
    if configured == "random":
        configured = str(random.SystemRandom().randrange(2**32))
        os.environ["HEALTHLEDGER_DIFF_SEED"] = configured
    return int(configured)


def diff_count() -> int:
    """Random messages per type: $HEALTHLEDGER_DIFF_COUNT, default 1000."""
    return int(os.environ.get("HEALTHLEDGER_DIFF_COUNT", "1000"))


def pytest_report_header(config):
    return [f"interop: HEALTHLEDGER_DIFF_SEED={diff_seed()} HEALTHLEDGER_DIFF_COUNT={diff_count()} "
            f"(set these to reproduce)"]


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"interop: HEALTHLEDGER_DIFF_SEED={diff_seed()} "
                                f"HEALTHLEDGER_DIFF_COUNT={diff_count()} (set these to reproduce)")


def pytest_generate_tests(metafunc):
    if "message_type" in metafunc.fixturenames:
        metafunc.parametrize("message_type", sorted(python_protos().message_classes))


@pytest.fixture(scope="session")
def protos() -> PythonProtos:
    return python_protos()


@pytest.fixture(scope="session")
def seed() -> int:
    return diff_seed()


@pytest.fixture(scope="session")
def count() -> int:
    return diff_count()


def _build_or_fail(product: str) -> Path:
    try:
        return build_product(product)
    except SwiftBuildError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def roundtrip_tool() -> RoundTripTool:
    """protobuf-roundtrip, built with $HEALTHLEDGER_SWIFT_BUILD_PATH (default .build)."""
    return RoundTripTool(_build_or_fail("protobuf-roundtrip"))


@pytest.fixture(scope="session")
def healthledger_protoc() -> Path:
    """Our generator's executable, built with $HEALTHLEDGER_SWIFT_BUILD_PATH (default .build)."""
    return _build_or_fail("healthledger-protoc")


@pytest.fixture(scope="session")
def healthledger() -> Path:
    """The node and command-line executable, built with $HEALTHLEDGER_SWIFT_BUILD_PATH (default .build)."""
    return _build_or_fail("healthledger")
