"""A three-node cluster on a three-member etcd cluster (scripts/cluster, TLS between clients and nodes) keeps every
acknowledged transaction through the loss of an etcd member and of the leading node.

Under a write load (cluster_failover_client.py load: six patients, each on its own home node, committing Grant
transactions and now and then querying as their clinician; every call fails over to another node while the outcome
is unknown and resends the same signed bytes):

1. SIGKILL etcd's Raft leader, keep the load going, restart the member;
2. SIGKILL the leading node: another node must lead within the lease's time to live (plus a margin for a loaded
   machine), every patient's grants keep being acknowledged (those of the killed node's patients by the other
   nodes), then restart the node: it must serve again and acknowledge grants itself;
3. SIGTERM the leading node: it hands over at once (its leader key is gone when it has exited, not a lease's time
   to live later), and the load goes on; start it again;
4. on each ordered pair of nodes (A, B), a Revoke returned by A is seen by the next Query on B: PERMISSION_DENIED;
5. after the load: the three nodes reach one height with the same head, the same block headers byte for byte,
   and every acknowledged grant on each of them (its receipt's entry proved against each node's checkpoint,
   ListGrants of its patient on each node), and no call of the load ended in anything but an acknowledgement.

Each outage lasts at least PHASE_SECONDS and until MIN_ACKS_PER_PHASE more grants were acknowledged, so the load
really ran through it. Failures name the phase, the counts, and the end of the logs of the processes involved."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from interop_paths import REPO_ROOT

CLUSTER_SCRIPT = REPO_ROOT / "scripts" / "cluster"
CLIENT = Path(__file__).resolve().parent / "cluster_failover_client.py"
# How many times slower than a plain build the executables run (scripts/sanitize sets it for sanitized builds):
# the lease and every wait stretch by it; what is checked does not change.
TIME_SCALE = max(1, int(os.environ.get("HEALTHLEDGER_TEST_TIME_SCALE", "1")))
LEASE_TTL = 5 * TIME_SCALE
# A dead leader's lease ends within LEASE_TTL; the next node's campaign, and polling the key, add to it.
ELECTION_MARGIN = 5.0 * TIME_SCALE
# A leader stopping cleanly revokes its lease before it exits; reading the key again takes a moment.
HANDOVER_MARGIN = 1.5 * TIME_SCALE
PHASE_SECONDS = 4.0
MIN_ACKS_PER_PHASE = 20
PHASE_TIMEOUT = 60.0 * TIME_SCALE
SCRIPT_TIMEOUT = 150.0 * TIME_SCALE
CLIENT_TIMEOUT = 150.0 * TIME_SCALE
WORKERS = 6


def ports_free(base: int) -> bool:
    """Whether the nine ports scripts/cluster takes from `base` can be bound on loopback."""
    for offset in (1, 2, 3, 11, 12, 13, 21, 22, 23):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", base + offset))
            except OSError:
                return False
    return True


def free_base_port() -> int:
    """A base below the kernel's ephemeral range: a port in it, freed by a killed member, can be taken as the
    source port of any outgoing connection before the member is restarted on it."""
    try:
        ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    first, last = 20000, min(ephemeral_start, 32768) - 30
    span = (last - first) // 50
    start = first + (os.getpid() % span) * 50
    for base in list(range(start, last, 50)) + list(range(first, start, 50)):
        if ports_free(base):
            return base
    raise RuntimeError(f"no free block of ports from {first} to {last} on 127.0.0.1")


@dataclass
class Cluster:
    """A cluster started by scripts/cluster in `directory`."""

    directory: Path
    base_port: int

    @property
    def servers(self) -> list[str]:
        return [f"127.0.0.1:{self.base_port + 20 + node}" for node in (1, 2, 3)]

    @property
    def ca_file(self) -> Path:
        return self.directory / "tls" / "ca.pem"

    def run(self, *arguments: str, timeout: float = SCRIPT_TIMEOUT) -> str:
        # --dir first: whatever follows "--" goes to `healthledger serve`.
        command = [str(CLUSTER_SCRIPT), "--dir", str(self.directory), *arguments]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                    stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"scripts/cluster {' '.join(arguments)} did not finish within {timeout} s\n{self.logs()}",
                        pytrace=False)
        if result.returncode != 0:
            pytest.fail(f"scripts/cluster {' '.join(arguments)} failed ({result.returncode}):\n"
                        f"{result.stderr.strip()[-3000:]}", pytrace=False)
        return result.stdout.strip()

    def leader(self) -> int | None:
        """The node holding the leader key (1-3), or None between leaders."""
        answer = self.run("leader", timeout=30)
        return int(answer) if answer else None

    def etcd_leader(self) -> int | None:
        answer = self.run("etcd-leader", timeout=30)
        return int(answer) if answer else None

    def logs(self, lines: int = 15) -> str:
        """The end of every process's log, for failure messages."""
        parts = []
        for log in sorted((self.directory / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(line[:400] for line in tail))
        return "\n".join(parts)


@pytest.fixture
def cluster(healthledger, tmp_path) -> Cluster:
    """Three etcd members and three nodes (the debug build under test), stopped when the test ends."""
    for program in ("etcd", "etcdctl"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is not installed: run scripts/setup (it installs etcd-server and etcd-client)",
                        pytrace=False)
    cluster = Cluster(tmp_path / "cluster", free_base_port())
    try:
        cluster.run("start", "--base-port", str(cluster.base_port), "--executable", str(healthledger),
                    "--chain-id", "failover", "--lease-ttl", str(LEASE_TTL), "--timeout", str(int(120 * TIME_SCALE)),
                    # One loopback address carries every client, and the checks ask for thousands of proofs.
                    "--", "--rate-limit", "off", "--address-rate-limit", "off")
        yield cluster
    finally:
        subprocess.run([str(CLUSTER_SCRIPT), "stop", "--dir", str(cluster.directory)], capture_output=True,
                       timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL)


def client_command(command: str, cluster: Cluster, work_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, str(CLIENT), command, "--servers", ",".join(cluster.servers),
            "--ca-file", str(cluster.ca_file), "--work-dir", str(work_dir), *extra]


def run_client(command: str, cluster: Cluster, work_dir: Path, *extra: str) -> dict:
    try:
        result = subprocess.run(client_command(command, cluster, work_dir, *extra), capture_output=True, text=True,
                                timeout=CLIENT_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the {command} client did not finish within {CLIENT_TIMEOUT} s\n{cluster.logs()}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"the {command} client exited {result.returncode}:\n{result.stderr.strip()[-3000:]}\n"
                    f"{cluster.logs()}", pytrace=False)
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class Phase:
    """What the load did between two steps of the story."""

    name: str
    started: float
    ended: float = 0.0
    acknowledged: int = 0
    longest_gap: float = 0.0
    by_node: dict = field(default_factory=dict)

    def describe(self) -> str:
        return (f"{self.name}: {self.acknowledged} grants acknowledged in {self.ended - self.started:.1f} s "
                f"(by node {self.by_node}), longest pause {self.longest_gap:.1f} s")


class Load:
    """cluster_failover_client.py load, running while the story kills and restarts processes."""

    def __init__(self, cluster: Cluster, work_dir: Path):
        self.cluster = cluster
        self.work_dir = work_dir
        self.output = open(work_dir / "load.out", "w")
        self.process = subprocess.Popen(
            client_command("load", cluster, work_dir, "--workers", str(WORKERS),
                           "--max-seconds", str(int(CLIENT_TIMEOUT))),
            stdout=self.output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def lines(self) -> list[dict]:
        path = self.work_dir / "acks.jsonl"
        if not path.exists():
            return []
        text = path.read_text()
        return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines() if line.strip()]

    def grants(self) -> list[dict]:
        return [line for line in self.lines() if line["kind"] == "grant"]

    def fail_on_errors(self, during: str) -> None:
        errors = [line["message"] for line in self.lines() if line["kind"] == "error"]
        if errors:
            pytest.fail(f"the load failed during {during}:\n" + "\n".join(errors) + f"\n{self.cluster.logs()}",
                        pytrace=False)
        if self.process.poll() is not None:
            pytest.fail(f"the load exited ({self.process.returncode}) during {during}:\n"
                        f"{(self.work_dir / 'load.out').read_text()[-3000:]}", pytrace=False)

    def run_phase(self, name: str, condition=lambda grants, started: True, started: float | None = None) -> Phase:
        """Lets the load run for at least PHASE_SECONDS and until MIN_ACKS_PER_PHASE more grants (and
        `condition(grants since the phase began, start time)`) were acknowledged; fails after PHASE_TIMEOUT. The
        phase begins now, or at `started` (a kill a little earlier, so that its pause is measured)."""
        phase = Phase(name, time.time() if started is None else started)
        deadline = time.monotonic() + PHASE_TIMEOUT
        while True:
            self.fail_on_errors(name)
            recent = [grant for grant in self.grants() if grant["at"] >= phase.started]
            if (time.time() - phase.started >= PHASE_SECONDS and len(recent) >= MIN_ACKS_PER_PHASE
                    and condition(recent, phase.started)):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"{name}: only {len(recent)} grants acknowledged in {PHASE_TIMEOUT} s (workers "
                            f"{sorted({grant['worker'] for grant in recent})}, nodes "
                            f"{sorted({grant['node'] + 1 for grant in recent})})\n{self.cluster.logs()}",
                            pytrace=False)
            time.sleep(0.2)
        phase.ended = time.time()
        phase.acknowledged = len(recent)
        times = [phase.started] + sorted(grant["at"] for grant in recent) + [phase.ended]
        phase.longest_gap = max(later - earlier for earlier, later in zip(times, times[1:]))
        for grant in recent:
            phase.by_node[grant["node"] + 1] = phase.by_node.get(grant["node"] + 1, 0) + 1
        return phase

    def stop(self) -> dict:
        (self.work_dir / "stop").touch()
        try:
            self.process.wait(timeout=CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            pytest.fail(f"the load did not stop within {CLIENT_TIMEOUT} s\n{self.cluster.logs()}", pytrace=False)
        finally:
            self.output.close()
        lines = (self.work_dir / "load.out").read_text().strip().splitlines()
        return json.loads(lines[-1]) if lines else {"errors": ["the load printed nothing"]}

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.output.close()


def test_acknowledged_grants_survive_an_etcd_member_and_the_leader_dying(cluster, tmp_path):
    work_dir = tmp_path / "load"
    work_dir.mkdir()
    phases: list[Phase] = []
    load = Load(cluster, work_dir)
    try:
        # Given a cluster committing every patient's grants, each patient on its own home node.
        phases.append(load.run_phase("warm-up", lambda grants, _: len({grant["worker"] for grant in grants}) == WORKERS))

        # When etcd's Raft leader dies, the other two members keep a quorum and the grants keep coming.
        member = cluster.etcd_leader() or 1
        member_killed_at = time.time()
        cluster.run("kill-etcd", str(member))
        phases.append(load.run_phase(f"etcd member {member} (Raft leader) killed", started=member_killed_at))
        cluster.run("start-etcd", str(member))
        phases.append(load.run_phase(f"etcd member {member} restarted"))

        # When the leading node dies, another leads within the lease's time to live, and every patient's grants
        # are acknowledged again, those of the dead node's own patients by the other nodes.
        leader = cluster.leader()
        assert leader is not None, f"no node holds the leader key\n{cluster.logs()}"
        killed_at = time.time()
        cluster.run("kill-node", str(leader))
        new_leader, elected_after = None, None
        while time.time() - killed_at < LEASE_TTL + ELECTION_MARGIN + 30:
            new_leader = cluster.leader()
            if new_leader is not None and new_leader != leader:
                elected_after = time.time() - killed_at
                break
            time.sleep(0.1)
        assert elected_after is not None, f"no other node leads {LEASE_TTL + ELECTION_MARGIN + 30} s after node " \
                                          f"{leader} died\n{cluster.logs()}"
        phases.append(load.run_phase(
            f"leader node {leader} killed (node {new_leader} leads after {elected_after:.1f} s)",
            lambda grants, _: len({grant["worker"] for grant in grants}) == WORKERS, started=killed_at))
        assert all(grant["node"] + 1 != leader for grant in load.grants() if grant["at"] > killed_at + 1), \
            "a killed node acknowledged a grant"

        # And once the node is back, it caught up and acknowledges its own patients' grants again.
        cluster.run("start-node", str(leader))
        restarted_at = time.time()
        phases.append(load.run_phase(
            f"node {leader} restarted",
            lambda grants, _: any(grant["node"] + 1 == leader for grant in grants)))

        # When the leader shuts down cleanly (SIGTERM), it hands over at once: its key is gone by the time it has
        # exited, rather than when its lease would have run out.
        leader = cluster.leader()
        assert leader is not None, f"no node holds the leader key\n{cluster.logs()}"
        stopping_at = time.time()
        cluster.run("stop-node", str(leader))
        exited_after = time.time() - stopping_at
        handed_over_after = None
        while time.time() - stopping_at < exited_after + LEASE_TTL + 10:
            if cluster.leader() != leader:
                handed_over_after = time.time() - stopping_at
                break
            time.sleep(0.05)
        phases.append(load.run_phase(
            f"leader node {leader} stopped cleanly (exited after {exited_after:.1f} s, its key gone after "
            f"{handed_over_after if handed_over_after is None else round(handed_over_after, 1)} s)",
            lambda grants, _: len({grant["worker"] for grant in grants}) == WORKERS, started=stopping_at))
        cluster.run("start-node", str(leader))
        phases.append(load.run_phase(f"node {leader} started again"))

        # A Revoke returned by one node is seen by the next Query on every other node, under the same load.
        revocations = run_client("revoke-check", cluster, tmp_path / "revoke", "--rounds", "6")
        phases.append(load.run_phase("after the revoke checks"))
    except BaseException:
        load.kill()
        raise
    outcome = load.stop()
    story = "\n".join(phase.describe() for phase in phases)
    print(story)
    assert not outcome["errors"], "the load failed:\n" + "\n".join(outcome["errors"]) + f"\n{story}"

    assert elected_after <= LEASE_TTL + ELECTION_MARGIN, \
        f"node {new_leader} took the lead {elected_after:.1f} s after leader {leader} died (lease TTL {LEASE_TTL} s)"
    assert handed_over_after is not None and handed_over_after - exited_after <= HANDOVER_MARGIN, \
        f"the leader key of the cleanly stopped node stayed {handed_over_after} s after the SIGTERM, the node had " \
        f"exited after {exited_after:.1f} s: its lease was not revoked on shutdown\n{story}"
    restarted_node_grants = [grant for grant in load.grants() if grant["at"] > restarted_at
                             and grant["node"] + 1 == leader]
    assert restarted_node_grants, f"the restarted node {leader} acknowledged no grant\n{story}"

    rounds = revocations["rounds"]
    assert len(rounds) == 6
    for observed in rounds:
        where = f"grant and revoke on node {observed['grant_node']}, query on node {observed['query_node']}"
        assert "error" not in observed, f"{where}: {observed['error']}"
        assert observed["query_before"] == "OK", f"{where}: the query before the revoke: {observed['query_before']}"
        assert observed["query_after"] == "PERMISSION_DENIED", \
            f"{where}: the query right after the Revoke returned was {observed['query_after']}"

    # Then the three nodes hold one chain, and every acknowledged grant is on each of them.
    report = run_client("check", cluster, work_dir, "--settle-seconds", str(int(60 * TIME_SCALE)))
    print(json.dumps({key: value for key, value in report.items() if key != "node_keys"}))
    assert not report["problems"], "the nodes disagree:\n" + "\n".join(report["problems"][:20]) + f"\n{story}"
    acknowledged = report["acknowledged_grants"]
    with_receipt = acknowledged - report["acknowledged_without_receipt"]
    assert report["receipts_proved_per_node"] == [with_receipt] * 3, report
    assert len(set(report["heights"])) == 1 and report["blocks_compared"] == [report["heights"][0]] * 3, report
    assert min(report["grants_listed_per_node"]) >= acknowledged, report
