"""The real `healthledger` binary catching a forked history: a patient's `healthledger audit --follow` keeps
running while the node at the same address is replaced by a copy of its data directory taken earlier, whose
history went another way (same node key, same chain id). The follower reconnects, finds that the node's checkpoint
does not extend the one it saw before, and exits with the documented code 6 and one `error:` line."""

import json
import os
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest


CHAIN_ID = "fork-demo"
HISTORY_MISMATCH = 6
TIMEOUT = 60.0


class Node:
    """`healthledger serve --plaintext` on a data directory, on a given port (0: any free one)."""

    def __init__(self, executable: Path, data_dir: Path, port: int, log: Path):
        self.log = open(log, "ab")
        self.process = subprocess.Popen(
            [str(executable), "serve", "--data-dir", str(data_dir), "--chain-id", CHAIN_ID, "--plaintext",
             "--port", str(port), "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = read_line(self.process.stdout, TIMEOUT)
        assert line.startswith("listening on port "), f"the node did not start: {line!r}; see {log}"
        self.port = int(line.removeprefix("listening on port "))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log.close()


def read_line(stream, timeout: float) -> str:
    """One line of `stream` (a pipe), or "" at its end or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(timeout=remaining):
                break
            chunk = os.read(stream.fileno(), 1)
            if not chunk:
                break
            line += chunk
    return line.decode().strip()


class Workspace:
    """A user's home for the command: identities, config and state (the checkpoint file) of its own."""

    def __init__(self, executable: Path, path: Path):
        self.executable = executable
        self.path = path
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith("HEALTHLEDGER_")}
        self.environment.update(XDG_CONFIG_HOME=str(path / "config"), XDG_STATE_HOME=str(path / "state"),
                                XDG_DATA_HOME=str(path / "data-home"))
        self.port = 0

    def command(self, *arguments: str) -> list[str]:
        """`healthledger arguments`, aimed at the node unless it is a command that works offline."""
        offline = arguments[0] in ("keygen", "whoami")
        node = [] if offline else ["--plaintext", "--server", f"127.0.0.1:{self.port}"]
        return [str(self.executable), *arguments, *node]

    def run(self, *arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*arguments), cwd=self.path, env=self.environment, capture_output=True,
                              text=True, timeout=TIMEOUT)

    def must(self, *arguments: str) -> subprocess.CompletedProcess:
        result = self.run(*arguments)
        assert result.returncode == 0, f"healthledger {' '.join(arguments)}: {result.stderr}"
        return result


def test_audit_follow_exits_when_the_node_is_replaced_by_a_fork(healthledger, tmp_path):
    """Given a patient following her audit trail, when the node she follows is replaced at the same address by
    a fork of its history, then the command stops with exit code 6 and one line naming the checkpoint seen."""
    user = Workspace(healthledger, tmp_path)
    node = Node(healthledger, tmp_path / "a", 0, tmp_path / "node-a.log")
    user.port = node.port
    nodes = [node]
    follower = None
    try:
        user.must("keygen", "--identity", "patient.pem")
        user.must("keygen", "--identity", "clinician.pem")
        patient = json.loads(user.must("whoami", "--identity", "patient.pem", "--json").stdout)["principal_id"]
        clinician = json.loads(user.must("whoami", "--identity", "clinician.pem", "--json").stdout)["principal_id"]
        (tmp_path / "lab.json").write_text('{"hba1c": 5.4}')
        user.must("write", "--identity", "patient.pem", "--category", "labs", "lab.json")
        user.must("grant", clinician, "--identity", "patient.pem", "--actions", "read", "--categories", "labs",
                  "--for", "1h")
        read = ("query", "--identity", "clinician.pem", "--patient", patient, "--categories")
        user.must(*read, "labs")

        # The operator keeps a copy of the data directory as it stands, then serves the original on.
        node.stop()
        shutil.copytree(tmp_path / "a", tmp_path / "b")
        node = Node(healthledger, tmp_path / "a", user.port, tmp_path / "node-a.log")
        nodes.append(node)

        follower = subprocess.Popen(
            user.command("audit", "--follow", "--json", "--identity", "patient.pem"), cwd=tmp_path,
            env=user.environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        first = json.loads(read_line(follower.stdout, TIMEOUT) or "null")
        assert first and first["actor"] == clinician and first["outcome"] == "allowed"
        user.must(*read, "labs")
        second = json.loads(read_line(follower.stdout, TIMEOUT) or "null")
        assert second and second["sequence"] > first["sequence"]
        checkpoint_file = tmp_path / "state" / "healthledger" / "checkpoints" / f"{CHAIN_ID}.json"
        remembered = json.loads(checkpoint_file.read_text())["checkpoint"]

        # The node at the same address is replaced by the copy, whose history goes another way.
        node.stop()
        node = Node(healthledger, tmp_path / "b", user.port, tmp_path / "node-b.log")
        nodes.append(node)
        # Someone who never saw the original commits there (the clinician from another machine, refused
        # genomics and audited all the same), so the copy's log is not merely shorter but different.
        elsewhere = Workspace(healthledger, tmp_path / "elsewhere")
        elsewhere.path.mkdir()
        shutil.copy(tmp_path / "clinician.pem", elsewhere.path / "clinician.pem")
        elsewhere.port = user.port
        refused = elsewhere.run(*read, "genomics")
        assert refused.returncode == 2, refused.stderr

        follower.wait(timeout=TIMEOUT)
        stderr = follower.stderr.read().decode()
        lines = stderr.strip().splitlines()
        assert follower.returncode == HISTORY_MISMATCH, stderr
        assert len(lines) == 1 and lines[0].startswith("error: ") and " (hint: " in lines[0], stderr
        assert "cannot be trusted" in lines[0] and "rewritten" in lines[0], stderr
        assert f"tree size {remembered['tree_size']}" in lines[0], stderr
        assert str(checkpoint_file) in lines[0], stderr
        # The evidence stays: the checkpoint file still holds what the patient saw on the original node.
        assert json.loads(checkpoint_file.read_text())["checkpoint"] == remembered
        # `verify` of the server says the same: the copy's own chain is sound, but it does not extend what this
        # machine saw; with no memory of the original (another machine), it verifies.
        verified = user.run("verify")
        assert verified.returncode == HISTORY_MISMATCH and "cannot be trusted" in verified.stderr, verified.stderr
        assert elsewhere.run("verify").returncode == 0
    finally:
        if follower is not None and follower.poll() is None:
            follower.kill()
            follower.wait()
        for each in nodes:
            each.stop()
