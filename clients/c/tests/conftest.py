"""Fixtures of the C client's tests: the C library and tool built by `make -C clients/c` (the tool also with
AddressSanitizer and UBSan, whose leak check runs at every exit), the `healthledger` executable (built with
$HEALTHLEDGER_SWIFT_BUILD_PATH, default .build, unless $HEALTHLEDGER_EXECUTABLE names one), and real nodes
started with `healthledger serve` over TLS (the development CA in their data directory) or h2c."""

import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest

C_CLIENT_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = C_CLIENT_ROOT.parents[1]
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0
CHAIN_ID = "c-client"


def _run(command: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **options)


@pytest.fixture(scope="session")
def c_build() -> Path:
    """`make -C clients/c` and `make -C clients/c check` (unit tests and drift check, sanitized); the build dir."""
    for target in ([], ["check"]):
        result = _run(["make", "-s", "-C", str(C_CLIENT_ROOT), *target])
        if result.returncode != 0:
            pytest.fail(f"make -C clients/c {' '.join(target)} failed:\n{(result.stdout + result.stderr)[-4000:]}",
                        pytrace=False)
    return C_CLIENT_ROOT / "build"


@pytest.fixture(scope="session")
def device_tool(c_build) -> Path:
    """healthledger-device built with -fsanitize=address,undefined: a leak or undefined behaviour fails its run."""
    return c_build / "sanitized" / "healthledger-device"


def swift_scratch_path() -> Path:
    configured = Path(os.environ.get("HEALTHLEDGER_SWIFT_BUILD_PATH", ".build"))
    return configured if configured.is_absolute() else REPO_ROOT / configured


@pytest.fixture(scope="session")
def healthledger_binary() -> Path:
    """The node's executable: $HEALTHLEDGER_EXECUTABLE when set, else built once per session."""
    if os.environ.get("HEALTHLEDGER_EXECUTABLE"):
        return Path(os.environ["HEALTHLEDGER_EXECUTABLE"]).resolve()
    scratch = swift_scratch_path()
    command = ["swift", "build", "--product", "healthledger", "--scratch-path", str(scratch)]
    for _ in range(3):
        result = _run(command, cwd=REPO_ROOT)
        if result.returncode == 0 or "was modified during the build" not in result.stdout + result.stderr:
            break
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-4000:]}", pytrace=False)
    bin_dir = _run(["swift", "build", "--show-bin-path", "--scratch-path", str(scratch)], cwd=REPO_ROOT,
                   check=True).stdout.strip()
    return Path(bin_dir) / "healthledger"


class Node:
    """A `healthledger serve` process on its own data directory and a free port, TLS unless `plaintext`."""

    def __init__(self, executable: Path, directory: Path, plaintext: bool = False):
        self.data_dir = directory / "data"
        self.plaintext = plaintext
        self.log_path = directory / "node.log"
        command = [str(executable), "serve", "--data-dir", str(self.data_dir), "--chain-id", CHAIN_ID,
                   "--log-level", "warning", "--port", "0", *(["--plaintext"] if plaintext else [])]
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = self._first_line(time.monotonic() + STARTUP_TIMEOUT)
        if not line.startswith("listening on port "):
            self.stop()
            raise RuntimeError(f"the node did not start: {line!r}; log: {self.log_path.read_text(errors='replace')}")
        self.port = int(line.rsplit(" ", 1)[1])

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The development CA the node made on its first TLS start."""
        return self.data_dir / "tls" / "ca.pem"

    def connection_options(self) -> list[str]:
        """healthledger-device options that reach this node."""
        return ["--server", self.target, *(["--plaintext"] if self.plaintext else ["--ca-file", str(self.ca_file)])]

    def _first_line(self, deadline: float) -> str:
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(timeout=remaining):
                    return line.decode(errors="replace")
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    return line.decode(errors="replace")
                line += chunk
        return line.decode().strip()

    def stop(self) -> int:
        """SIGTERM (SIGKILL after a grace period); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        code = self.process.wait()
        self.process.stdout.close()
        self.log.close()
        return code


@pytest.fixture(scope="module")
def tls_node(healthledger_binary, tmp_path_factory, request) -> Node:
    """A TLS node shared by a test module; every test uses principals of its own."""
    running = Node(healthledger_binary, tmp_path_factory.mktemp("tls-node"))

    def stop():
        alive = running.process.poll() is None
        code = running.stop()
        assert alive and code == 0, f"the node died or exited {code}; log:\n{running.log_path.read_text()}"

    request.addfinalizer(stop)
    return running


@pytest.fixture(scope="module")
def plaintext_node(healthledger_binary, tmp_path_factory) -> Node:
    """An h2c node (`healthledger serve --plaintext`)."""
    running = Node(healthledger_binary, tmp_path_factory.mktemp("h2c-node"), plaintext=True)
    yield running
    running.stop()
