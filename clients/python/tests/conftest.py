"""Fixtures of the Python client's tests: the installed package checked against the source tree, the
`healthledger` executable (built with $HEALTHLEDGER_SWIFT_BUILD_PATH, default .build, unless
$HEALTHLEDGER_EXECUTABLE names one), and real nodes started
with `healthledger serve --plaintext` on their own data directories, which can be restarted on the same port."""

import filecmp
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLIENT_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = CLIENT_ROOT.parents[1]
EXAMPLES = CLIENT_ROOT / "examples"
STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0
CHAIN_ID = "python-client"


def pytest_sessionstart(session):
    """The tests run against the installed package (what `pip install clients/python` gives); a copy older
    than the tree would test stale code, so it fails the run with the fix."""
    import healthledger

    installed = Path(healthledger.__file__).resolve().parent
    source = CLIENT_ROOT / "src" / "healthledger"
    if installed == source:
        return
    stale = []
    for path in sorted(source.rglob("*.py*")):
        copy = installed / path.relative_to(source)
        if "__pycache__" not in path.parts and (not copy.is_file() or not filecmp.cmp(path, copy, shallow=False)):
            stale.append(str(path.relative_to(source)))
    if stale:
        pytest.exit(f"the installed healthledger package ({installed}) differs from clients/python/src in "
                    f"{', '.join(stale[:5])} (hint: run scripts/setup, or pip install ./clients/python)", returncode=4)


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
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        if result.returncode == 0 or "was modified during the build" not in result.stdout + result.stderr:
            break
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-4000:]}", pytrace=False)
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path", "--scratch-path", str(scratch)], cwd=REPO_ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    return Path(bin_dir) / "healthledger"


class Node:
    """A `healthledger serve --plaintext` process on a data directory; restart() keeps directory and port.
    `arguments` are more `serve` flags (such as `--researcher ID`)."""

    def __init__(self, executable: Path, directory: Path, arguments: tuple[str, ...] = ()):
        self.executable = executable
        self.arguments = arguments
        self.directory = directory
        self.data_dir = directory / "data"
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.starts = 0
        directory.mkdir(parents=True, exist_ok=True)
        self.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        log = open(self.directory / f"node-{self.starts}.log", "wb")
        command = [str(self.executable), "serve", "--data-dir", str(self.data_dir), "--chain-id", CHAIN_ID,
                   "--plaintext", "--log-level", "warning", "--port", str(self.port), *self.arguments]
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
            line = self._first_line(deadline)
            if line.startswith("listening on port "):
                break
            # The old port may still be held a moment after a restart.
            self.process.wait()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the node did not start: {line!r}; log: {self.log_tail()}")
            time.sleep(0.2)
        log.close()
        self.port = int(line.rsplit(" ", 1)[1])

    def _first_line(self, deadline: float) -> str:
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(timeout=remaining):
                    self.process.kill()
                    return line.decode(errors="replace")
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    return line.decode(errors="replace")
                line += chunk
        return line.decode().strip()

    def stop(self) -> int:
        """SIGTERM (SIGKILL after a grace period); the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        code = self.process.wait()
        self.process.stdout.close()
        return code

    def crash_and_restart(self) -> None:
        """SIGKILL, then a start on the same data directory and port: every connection drops at once."""
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.start()

    def log_tail(self) -> str:
        path = self.directory / f"node-{self.starts}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-20:]) if path.exists() else ""


@pytest.fixture(scope="module")
def node(healthledger_binary, tmp_path_factory, request) -> Node:
    """A node shared by a test module; every test uses principals of its own."""
    running = Node(healthledger_binary, tmp_path_factory.mktemp("node"))

    def stop():
        alive = running.process.poll() is None
        code = running.stop()
        assert alive and code == 0, f"the node died or exited {code}; log:\n{running.log_tail()}"

    request.addfinalizer(stop)
    return running


@pytest.fixture
def fresh_node(healthledger_binary, tmp_path) -> Node:
    """A node of the test's own, for tests that restart it."""
    running = Node(healthledger_binary, tmp_path / "node-dir")
    yield running
    running.stop()


def example_command(script: str, *arguments: str) -> list[str]:
    """How to run an example with the interpreter running the tests."""
    return [sys.executable, str(EXAMPLES / script), *arguments]
