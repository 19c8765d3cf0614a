"""Fixtures of the browser tests: the `healthledger` executable, a real node over TLS serving the dashboard from
clients/web, the `healthledger` command line as a clinician, and Debian's headless Chromium driven by Selenium,
trusting exactly the node's certificate (by its public key's SHA-256) and nothing else it would not trust anyway."""

import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The page under test: the copy embedded in the node (what every user gets; the drift test keeps it equal to
# clients/web), or a folder named by $HEALTHLEDGER_DASHBOARD_DIR, served with --dashboard-dir.
DASHBOARD_DIR = (Path(os.environ["HEALTHLEDGER_DASHBOARD_DIR"]).resolve()
                 if os.environ.get("HEALTHLEDGER_DASHBOARD_DIR") else None)
STARTUP_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def swift_scratch_path() -> Path:
    """The SwiftPM scratch path: $HEALTHLEDGER_SWIFT_BUILD_PATH (relative to the repo root) or .build."""
    configured = Path(os.environ.get("HEALTHLEDGER_SWIFT_BUILD_PATH", ".build"))
    return configured if configured.is_absolute() else REPO_ROOT / configured


@pytest.fixture(scope="session")
def healthledger() -> Path:
    """The node's executable: $HEALTHLEDGER_EXECUTABLE when set, else built once per session."""
    if os.environ.get("HEALTHLEDGER_EXECUTABLE"):
        return Path(os.environ["HEALTHLEDGER_EXECUTABLE"]).resolve()
    scratch = swift_scratch_path()
    command = ["swift", "build", "--product", "healthledger", "--scratch-path", str(scratch)]
    for _ in range(3):
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        # Someone editing sources during the build is not a build failure: build again.
        if result.returncode == 0 or "was modified during the build" not in result.stdout + result.stderr:
            break
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-4000:]}", pytrace=False)
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path", "--scratch-path", str(scratch)], cwd=REPO_ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    return Path(bin_dir) / "healthledger"


@dataclass
class CommandResult:
    """What one `healthledger` command did."""

    exit_code: int
    stdout: str
    stderr: str


class TLSNode:
    """`healthledger serve` over TLS (its default) on a free port, with its development CA under a scratch
    XDG_DATA_HOME, serving the dashboard straight from clients/web."""

    def __init__(self, executable: Path, workspace: Path, serve_arguments: tuple[str, ...] = ()):
        self.executable = executable
        self.workspace = workspace
        self.serve_arguments = list(serve_arguments)
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith("HEALTHLEDGER_")}
        # The command line pins each chain's node keys and last checkpoint under XDG_STATE_HOME: one per node here,
        # as every test's node has a chain of the same name but keys of its own.
        self.environment.update(XDG_DATA_HOME=str(workspace / "data-home"), XDG_CONFIG_HOME=str(workspace / "config"),
                                XDG_STATE_HOME=str(workspace / "state"))
        self.log = open(workspace / "serve.log", "a")
        self.port = 0
        self.start()
        self.environment["HEALTHLEDGER_SERVER"] = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Starts the node on self.port (a free one when 0); the same data directory every time."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            self.process = subprocess.Popen(
                [str(self.executable), "serve", "--port", str(self.port), "--log-level", "warning"]
                + (["--dashboard-dir", str(DASHBOARD_DIR)] if DASHBOARD_DIR is not None else [])
                + self.serve_arguments,
                cwd=self.workspace, env=self.environment, stdout=subprocess.PIPE, stderr=self.log,
                stdin=subprocess.DEVNULL, text=True)
            first_line = self.process.stdout.readline().strip()
            if first_line.startswith("listening on port "):
                break
            self.process.wait()
            self.process.stdout.close()
            # After a restart the old port may still be held for a moment.
            if time.monotonic() > deadline:
                raise AssertionError(f"healthledger serve did not start: {first_line!r}; log:\n{self.log_tail()}")
            time.sleep(0.2)
        self.port = int(first_line.removeprefix("listening on port ").split()[0])

    def crash_and_restart(self) -> None:
        """SIGKILL, then a start on the same data directory and port: every connection drops at once."""
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def certificate_spki_sha256(self) -> str:
        """Base64 SHA-256 of the SubjectPublicKeyInfo of the certificate the node presents: what Chromium's
        --ignore-certificate-errors-spki-list takes."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                der = tls.getpeercert(binary_form=True)
        spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()

    def cli(self, *arguments: str, identity: Path, stdin: str | None = None) -> CommandResult:
        """Runs `healthledger <arguments>` against this node as the holder of `identity`."""
        result = subprocess.run([str(self.executable), *arguments, "--identity", str(identity)], cwd=self.workspace,
                                env=self.environment, input=stdin, capture_output=True, text=True,
                                timeout=CLI_TIMEOUT)
        return CommandResult(result.returncode, result.stdout, result.stderr)

    def keygen(self, identity: Path) -> str:
        """A new identity file; its principal id."""
        result = self.cli("keygen", "--json", identity=identity)
        assert result.exit_code == 0, f"keygen failed: {result.stderr}"
        return json.loads(result.stdout)["principal_id"]

    def log_tail(self) -> str:
        self.log.flush()
        path = self.workspace / "serve.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-30:]) if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.log.close()


@pytest.fixture
def node(healthledger: Path):
    workspace = Path(tempfile.mkdtemp(prefix="healthledger-dashboard-"))
    started = TLSNode(healthledger, workspace)
    yield started
    started.stop()
    shutil.rmtree(workspace, ignore_errors=True)


@dataclass
class EmergencySetting:
    """A node whose operator registered one emergency clinician, and that clinician's identity file."""

    node: TLSNode
    clinician: str
    clinician_identity: Path


@pytest.fixture
def emergency_setting(healthledger: Path):
    workspace = Path(tempfile.mkdtemp(prefix="healthledger-dashboard-"))
    identity = workspace / "er-clinician.pem"
    keygen = subprocess.run([str(healthledger), "keygen", "--json", "--identity", str(identity)], capture_output=True,
                            text=True, timeout=CLI_TIMEOUT)
    assert keygen.returncode == 0, f"keygen failed: {keygen.stderr}"
    clinician = json.loads(keygen.stdout)["principal_id"]
    started = TLSNode(healthledger, workspace, serve_arguments=("--emergency-clinician", clinician))
    yield EmergencySetting(started, clinician, identity)
    started.stop()
    shutil.rmtree(workspace, ignore_errors=True)


class Browsers:
    """Starts headless Chromium sessions (each with a profile of its own) that trust the node's certificate."""

    def __init__(self, node: TLSNode, workspace: Path):
        self.node = node
        self.workspace = workspace
        self.drivers = []

    def start(self, name: str):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
            pytest.fail("Chromium and chromedriver are missing (hint: run scripts/setup, which installs Debian's "
                        "chromium and chromium-driver)", pytrace=False)
        profile = self.workspace / f"profile-{name}"
        downloads = self.workspace / f"downloads-{name}"
        downloads.mkdir(parents=True)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,800", "--no-first-run", "--disable-extensions",
                         f"--user-data-dir={profile}", "--lang=en-GB",
                         f"--ignore-certificate-errors-spki-list={self.node.certificate_spki_sha256()}"]:
            options.add_argument(argument)
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                  "download.prompt_for_download": False})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(self.workspace / f"driver-{name}.log")),
                                  options=options)
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        driver.downloads = downloads
        self.drivers.append(driver)
        return driver

    def quit(self):
        for driver in self.drivers:
            driver.quit()


@pytest.fixture
def browsers(node: TLSNode):
    workspace = Path(tempfile.mkdtemp(prefix="healthledger-chromium-"))
    started = Browsers(node, workspace)
    yield started
    started.quit()
    shutil.rmtree(workspace, ignore_errors=True)


@pytest.fixture
def emergency_browsers(emergency_setting: EmergencySetting):
    """Browsers that trust the node of `emergency_setting`."""
    workspace = Path(tempfile.mkdtemp(prefix="healthledger-chromium-"))
    started = Browsers(emergency_setting.node, workspace)
    yield started
    started.quit()
    shutil.rmtree(workspace, ignore_errors=True)
