"""The Python client given several nodes of one chain: two real `healthledger serve --plaintext` nodes serve copies
of one data directory (copied while its node was stopped), so they hold the same chain, the same node key and the
same history, as the nodes of a replicated cluster do. When the node in use stops, reads and transactions carry
on against the other; a node that refuses connections from the start is skipped; with every node down the error
names each one."""

import os
import selectors
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from healthledger import Identity, LedgerClient, UnavailableError, messages as pb

CHAIN_ID = "failover-demo"
TIMEOUT = 60.0
LAB_RESULT = b'{"hba1c": 5.4}'


class Node:
    """`healthledger serve --plaintext` on a data directory, on any free port."""

    def __init__(self, executable: Path, data_dir: Path, log: Path):
        self.log = open(log, "ab")
        self.process = subprocess.Popen(
            [str(executable), "serve", "--data-dir", str(data_dir), "--chain-id", CHAIN_ID, "--plaintext",
             "--port", "0", "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = read_line(self.process.stdout, TIMEOUT)
        assert line.startswith("listening on port "), f"the node did not start: {line!r}; see {log}"
        self.target = f"127.0.0.1:{line.removeprefix('listening on port ')}"

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


class Cluster:
    """Two nodes on copies of one data directory in which a patient wrote a lab result and granted a clinician
    reading her labs."""

    def __init__(self, executable: Path, directory: Path):
        self.patient, self.clinician = Identity.generate(), Identity.generate("p256")
        self.nodes: list[Node] = []
        original = Node(executable, directory / "a", directory / "node-a.log")
        try:
            with LedgerClient(original.target, self.patient, plaintext=True, timeout=20) as seeding:
                seeding.write(self.patient.principal_id, pb.DATA_CATEGORY_LABS, LAB_RESULT, "application/json")
                seeding.grant(self.clinician.principal_id, [pb.DATA_CATEGORY_LABS])
        finally:
            original.stop()
        shutil.copytree(directory / "a", directory / "b")
        for name in ("a", "b"):
            self.nodes.append(Node(executable, directory / name, directory / f"node-{name}.log"))

    @property
    def targets(self) -> list[str]:
        return [node.target for node in self.nodes]

    def client(self, identity: Identity, targets: list[str] | None = None) -> LedgerClient:
        return LedgerClient(targets or self.targets, identity, plaintext=True, timeout=20)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@pytest.fixture
def cluster(healthledger_binary, tmp_path):
    cluster = Cluster(healthledger_binary, tmp_path)
    yield cluster
    cluster.stop()


@pytest.fixture
def refusing_target():
    """A loopback port bound but not listening: connecting to it is refused while the test runs."""
    reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reserved.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{reserved.getsockname()[1]}"
    reserved.close()


def test_reads_carry_on_against_the_other_node_when_the_node_in_use_stops(cluster):
    """Given a patient and a clinician reading from the first node, when it stops, then the patient's grants,
    principal and audit trail and the clinician's query come from the second node without an error (each with a
    session made again there, as the second node does not know the first one's), verified against the
    checkpoints the first node showed."""
    with cluster.client(cluster.patient) as patient, cluster.client(cluster.clinician) as clinician:
        grants = [record.grant_id for record in patient.list_grants(patient=cluster.patient.principal_id)]
        assert len(grants) == 1
        principal = patient.get_principal()
        assert patient.target == cluster.targets[0]
        seen = patient.latest_checkpoint

        cluster.nodes[0].stop()
        assert [record.grant_id for record in patient.list_grants(patient=cluster.patient.principal_id)] == grants
        assert patient.get_principal() == principal
        assert patient.target == cluster.targets[1]
        read = clinician.query(cluster.patient.principal_id, [pb.DATA_CATEGORY_LABS])
        assert [record.content for record in read.records] == [LAB_RESULT]
        assert clinician.target == cluster.targets[1]
        events = list(patient.audit_stream(cluster.patient.principal_id))
        assert [logged.event.sequence for logged in events] == [read.audit_sequence]
        assert patient.latest_checkpoint != seen  # the second node's newer one, proved consistent with it


def test_a_transaction_is_resent_byte_for_byte_to_the_other_node(cluster):
    """Given a patient whose client learnt the chain and her sequence number on the first node, when that node
    stops, then her next grant is refused there (UNAVAILABLE), resent with the very same bytes to the second node,
    committed there with a receipt the client verifies, and she sees no error."""
    with cluster.client(cluster.patient) as patient:
        patient.chain_head()
        patient.next_sequence()
        cluster.nodes[0].stop()
        sent: list[bytes] = []

        def send(signed):
            sent.append(signed.SerializeToString())
            return patient.stub.Grant(pb.GrantRequest(transaction=signed), timeout=20)

        grant = pb.Grant(patient=cluster.patient.principal_id, grantee=cluster.clinician.principal_id,
                         actions=[pb.ACTION_READ], categories=[pb.DATA_CATEGORY_IMAGING],
                         purposes=[pb.PURPOSE_TREATMENT], effect=pb.EFFECT_PERMIT)
        granted = patient.submit(grant, send)
        assert len(sent) == 2 and sent[0] == sent[1]
        assert patient.target == cluster.targets[1]
        listed = [record.grant_id for record in patient.list_grants(patient=cluster.patient.principal_id)]
        assert granted.grant_id in listed
        # The client's own grant() goes the same way from here on.
        assert patient.grant(cluster.clinician.principal_id, [pb.DATA_CATEGORY_VITALS]).grant_id


def test_a_node_refusing_connections_from_the_start_is_skipped(cluster, refusing_target):
    """Given a target list whose first node refuses connections, when the clinician reads, then the next node
    answers and stays the one in use; a comma-separated string names the nodes as well as a list."""
    targets = f"{refusing_target}, {cluster.targets[1]}"
    with LedgerClient(targets, cluster.clinician, plaintext=True, timeout=20) as clinician:
        assert clinician.targets == [refusing_target, cluster.targets[1]]
        read = clinician.query(cluster.patient.principal_id, [pb.DATA_CATEGORY_LABS])
        assert [record.content for record in read.records] == [LAB_RESULT]
        assert clinician.target == cluster.targets[1]
        clinician.wait_until_ready(timeout=10)
        assert clinician.target == cluster.targets[1]


def test_with_every_node_down_the_error_names_each_one(cluster, refusing_target):
    """Given every node down, a read fails UNAVAILABLE with one message naming each node tried."""
    cluster.stop()
    targets = [*cluster.targets, refusing_target]
    with LedgerClient(targets, cluster.patient, plaintext=True, timeout=20) as patient:
        with pytest.raises(UnavailableError) as unavailable:
            patient.chain_head()
        message = unavailable.value.message
        assert message.startswith("none of the 3 nodes could serve the call"), message
        assert all(target in message for target in targets), message
        with pytest.raises(UnavailableError, match="cannot reach the node at " + ", ".join(targets)):
            patient.wait_until_ready(timeout=2)
