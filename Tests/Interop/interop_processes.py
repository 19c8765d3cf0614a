"""Processes the gRPC interop tests run: a server started on an ephemeral port (its first stdout line says
which), clients run once per case, and the CA and server certificate TLS runs use (made with openssl)."""

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

INTEROP_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 15.0
SHUTDOWN_TIMEOUT = 10.0
CLIENT_TIMEOUT = 30.0


@dataclass(frozen=True)
class TLSMaterial:
    """A throwaway CA and a server certificate it signed for localhost and 127.0.0.1."""

    ca_file: Path
    certificate_file: Path
    key_file: Path
    server_name: str = "localhost"


def make_tls_material(directory: Path) -> TLSMaterial:
    """Creates the CA and the server certificate with the openssl CLI (EC P-256, one day)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the openssl command is not installed")
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, request, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                          "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    commands = [
        [openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key],
        [openssl, "req", "-x509", "-new", "-key", ca_key, "-sha256", "-days", "1", "-subj",
         "/CN=HealthLedger interop test CA", "-out", ca_cert],
        [openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
        [openssl, "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", request],
        [openssl, "x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "1", "-sha256", "-extfile", extensions, "-out", cert],
    ]
    for command in commands:
        result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, command))} failed: {result.stderr.strip()}")
    return TLSMaterial(ca_cert, cert, key)


class ServerProcess:
    """A server under test: started with --port 0, its port read from "listening on port N"."""

    def __init__(self, command: list[str], log_path: Path, tls: TLSMaterial | None):
        self.tls = tls
        self.log_path = log_path
        self.command = command
        if tls is not None:
            command = command + ["--use_tls", "--tls_cert_file", str(tls.certificate_file),
                                 "--tls_key_file", str(tls.key_file)]
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command + ["--port", "0"], stdout=subprocess.PIPE, stderr=self._log,
                                        stdin=subprocess.DEVNULL)
        try:
            self.port = self._read_port()
        except BaseException:
            self.kill()
            raise
        self.exit_code: int | None = None

    def _read_port(self) -> int:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(timeout=remaining):
                    raise TimeoutError(f"no port line within {STARTUP_TIMEOUT} s; log: {self.log_tail()}")
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    raise RuntimeError(f"the server exited ({self.process.wait()}) before printing its port; "
                                       f"log: {self.log_tail()}")
                line += chunk
        text = line.decode().strip()
        prefix = "listening on port "
        if not text.startswith(prefix):
            raise RuntimeError(f"first line {text!r} is not {prefix!r}N")
        return int(text[len(prefix):])

    @property
    def is_running(self) -> bool:
        return self.process.poll() is None

    def death(self) -> str:
        """How the process ended, for messages: "exit 1", "killed by SIGPIPE", or "still running"."""
        code = self.process.poll()
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit {code}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after SHUTDOWN_TIMEOUT; returns the exit code (negative: killed by a signal)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        self.exit_code = self.process.wait()
        self._close_files()
        return self.exit_code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_files()

    def _close_files(self) -> None:
        if self.process.stdout and not self.process.stdout.closed:
            self.process.stdout.close()
        if not self._log.closed:
            self._log.close()


@dataclass(frozen=True)
class ClientOutcome:
    """How one client run of one case ended."""

    passed: bool
    reason: str


def run_client(command: list[str], server: ServerProcess, test_case: str) -> ClientOutcome:
    """Runs an interop client (grpc's flags) for one case against `server`."""
    arguments = command + ["--server_host", "127.0.0.1", "--server_port", str(server.port), "--test_case", test_case]
    if server.tls is not None:
        arguments += ["--use_tls", "--ca_file", str(server.tls.ca_file),
                      "--server_host_override", server.tls.server_name]
    try:
        result = subprocess.run(arguments, capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ClientOutcome(False, f"the client did not finish within {CLIENT_TIMEOUT} s")
    if result.returncode == 0:
        return ClientOutcome(True, result.stdout.strip())
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit {result.returncode} without a reason"
    return ClientOutcome(False, f"exit {result.returncode}: {reason}")


def python_command(script: str, *arguments: str) -> list[str]:
    """How to run one of this directory's scripts with the interpreter running the tests."""
    return [sys.executable, str(INTEROP_DIR / script), *arguments]


class ClientWorker:
    """python_interop_client.py --worker for one server: cases go in on stdin, outcomes come back one JSON
    line each. A case that takes longer than CLIENT_TIMEOUT kills the worker; the next case starts another."""

    def __init__(self, command: list[str], server: ServerProcess):
        self.command = command + ["--worker", "--server_host", "127.0.0.1", "--server_port", str(server.port)]
        if server.tls is not None:
            self.command += ["--use_tls", "--ca_file", str(server.tls.ca_file),
                             "--server_host_override", server.tls.server_name]
        self.process: subprocess.Popen | None = None

    def run(self, test_case: str) -> ClientOutcome:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE)
        self.process.stdin.write(f"{test_case}\n".encode())
        self.process.stdin.flush()
        line = b""
        deadline = time.monotonic() + CLIENT_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(timeout=remaining):
                    self.close()
                    return ClientOutcome(False, f"the client did not finish {test_case} within {CLIENT_TIMEOUT} s")
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    stderr = self.process.stderr.read().decode(errors="replace").strip().splitlines()
                    self.close()
                    return ClientOutcome(False, f"the client exited during {test_case}: "
                                                f"{stderr[-1] if stderr else 'no output'}")
                line += chunk
        answer = json.loads(line)
        return ClientOutcome(answer["passed"], answer["reason"])

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if not stream.closed:
                stream.close()
        self.process = None
