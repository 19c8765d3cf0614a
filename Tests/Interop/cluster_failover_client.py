"""The clients of the cluster failover test (test_cluster_failover.py), with the Python client in clients/python:

    cluster_failover_client.py load  --servers A,B,C --ca-file CA --work-dir DIR --workers N --max-seconds S
    cluster_failover_client.py revoke-check --servers A,B,C --ca-file CA --rounds N
    cluster_failover_client.py check --servers A,B,C --ca-file CA --work-dir DIR

`load` runs N patients, each on its own home node (worker w on node w mod 3), committing Grant transactions to a
clinician of its own and, every QUERY_EVERY grants, querying the patient's labs as that clinician; it writes one
JSON line per acknowledged grant (and per query) to DIR/acks.jsonl as it goes, and stops when DIR/stop exists.
Every call starts at the worker's home node and fails over to the next node on UNAVAILABLE or DEADLINE_EXCEEDED
(a node down, a leader change, etcd without quorum); a transaction is resent with the very same signed bytes, so
a resend that finds it committed (ALREADY_EXISTS) is its acknowledgement. Anything else ends the worker with an
error line: a query refused after an acknowledged grant, a receipt that does not verify, any other status.

`revoke-check` grants on node A, revokes on node A, and right after the Revoke returns queries as the grantee on
node B, for each ordered pair of nodes: the query must be PERMISSION_DENIED (the read index).

`check` waits until every node has the same height, then checks that the three chains are one (head hash, every
block header byte for byte), that every acknowledged grant is on every node (its receipt's entry proved against
each node's checkpoint; ListGrants of each patient on each node holds every acknowledged grant id), and that
every node's checkpoints are consistent with each other's.

A process apart from pytest for the reason python_ledger_client.py gives (the healthledger.v1 modules). Each
command prints one JSON object on stdout; the test asserts on it."""

import argparse
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from healthledger import (AlreadyExistsError, ChainVerifier, CheckpointHistory, Identity, LedgerClient,
                          LedgerError, PermissionDeniedError, TransactionSigner, VerificationError, load_identity,
                          save_identity, transaction_id)
from healthledger import messages as pb
from healthledger.errors import from_rpc_error

# Slower executables (sanitized builds; see test_cluster_failover.py) stretch the waits.
TIME_SCALE = max(1, int(os.environ.get("HEALTHLEDGER_TEST_TIME_SCALE", "1")))
# One attempt at one node; a node that hangs is left for the next after this long.
CALL_TIMEOUT = 20.0 * TIME_SCALE
# A transaction or query that no node acknowledged within this long fails the run.
OPERATION_DEADLINE = 120.0 * TIME_SCALE
# Pause after a round of every node refused: the cluster is electing, or etcd has no quorum.
ROUND_PAUSE = 0.25
QUERY_EVERY = 4
FAILOVER_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class Violation(Exception):
    """A property of the cluster does not hold: the message says which, and where."""


def connect(server: str, identity: Identity | None, ca_file: str | None, history: CheckpointHistory | None = None
            ) -> LedgerClient:
    tls = {"plaintext": True} if ca_file is None else {"ca_file": ca_file, "server_name": "127.0.0.1"}
    return LedgerClient(server, identity, timeout=CALL_TIMEOUT, transaction_attempts=1, checkpoint_history=history,
                        **tls)


@dataclass
class NodeSet:
    """One principal's client of every node, calls starting at `home` and failing over in ring order."""

    servers: list[str]
    identity: Identity | None
    ca_file: str | None
    home: int = 0
    clients: list[LedgerClient] = field(default_factory=list)
    failovers: int = 0

    def __post_init__(self):
        # One history for the principal's view of every node: each node's checkpoints must be consistent with
        # the others'.
        history = CheckpointHistory()
        self.clients = [connect(server, self.identity, self.ca_file, history) for server in self.servers]

    def order(self) -> list[int]:
        return [(self.home + step) % len(self.servers) for step in range(len(self.servers))]

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def first_answer(self, what: str, call):
        """`call(node_index)` on the home node, then the next ones, until one answers with anything but
        UNAVAILABLE / DEADLINE_EXCEEDED; returns (node index, answer). Raises what that node raised otherwise."""
        deadline = time.monotonic() + OPERATION_DEADLINE
        last = None
        attempts = 0
        while time.monotonic() < deadline:
            for node in self.order():
                try:
                    answer = call(node)
                    return node, answer, attempts
                except LedgerError as error:
                    if error.code not in FAILOVER_CODES:
                        raise
                    last = f"node {node + 1} ({self.servers[node]}): {error}"
                    attempts += 1
                    self.failovers += 1
            time.sleep(ROUND_PAUSE)
        raise Violation(f"{what}: no node answered within {OPERATION_DEADLINE} s; last: {last}")


class Patient:
    """A patient committing grants to one clinician, through every node."""

    def __init__(self, servers: list[str], ca_file: str | None, home: int, work_dir: Path, index: int):
        self.identity = Identity.generate()
        self.clinician = Identity.generate()
        save_identity(self.identity, work_dir / f"patient-{index}.pem")
        save_identity(self.clinician, work_dir / f"clinician-{index}.pem")
        self.nodes = NodeSet(servers, self.identity, ca_file, home)
        self.clinician_nodes = NodeSet(servers, self.clinician, ca_file, home)
        self.sequence = 1
        head = self.nodes.first_answer("GetChainHead", lambda node: self.nodes.clients[node].chain_head())[1]
        self.signer = TransactionSigner(self.identity, head.chain_id)
        self.verifier = ChainVerifier(head.chain_id, head.node_keys)

    def commit(self, operation) -> dict:
        """Commits one transaction, resending its very bytes to the next node while the outcome is unknown."""
        signed = self.signer.sign(operation, self.sequence, attach_public_key=self.sequence == 1)
        tx_id = transaction_id(signed.body)
        kind = type(operation).DESCRIPTOR.name
        sent: list[int] = []
        started = time.monotonic()

        def send(node: int):
            client = self.nodes.clients[node]
            sent.append(node)
            request = pb.GrantRequest(transaction=signed) if kind == "Grant" else pb.RevokeRequest(transaction=signed)
            method = client.stub.Grant if kind == "Grant" else client.stub.Revoke
            try:
                return method(request, timeout=CALL_TIMEOUT)
            except grpc.RpcError as error:
                raise from_rpc_error(error, kind) from None

        try:
            node, response, _ = self.nodes.first_answer(f"{kind} {tx_id[:16]}", send)
        except AlreadyExistsError as error:
            if len(sent) < 2:
                raise Violation(f"{kind} {tx_id} refused as already committed on its first sending: {error}") from None
            self.sequence += 1
            return {"transaction_id": tx_id, "node": sent[-1], "receipt": None, "sent_to": sent,
                    "latency_ms": round((time.monotonic() - started) * 1000, 1), "by_earlier_attempt": True}
        except LedgerError as error:
            raise Violation(f"{kind} {tx_id[:16]} sent to nodes {[n + 1 for n in sent]}: {error}") from None
        self.sequence += 1
        receipt = response.receipt
        try:
            self.verifier.verify_receipt(receipt, signed)
        except VerificationError as error:
            raise Violation(f"{kind} {tx_id} on node {node + 1}: the receipt does not verify: {error}") from None
        return {"transaction_id": tx_id, "node": node, "sent_to": sent,
                "latency_ms": round((time.monotonic() - started) * 1000, 1),
                "receipt": {"entry_index": receipt.entry_index, "block_height": receipt.block_height,
                            "ledger_entry": receipt.ledger_entry.hex()}}

    def grant(self) -> dict:
        return self.commit(pb.Grant(patient=self.identity.principal_id, grantee=self.clinician.principal_id,
                                    actions=[pb.ACTION_READ], categories=[pb.DATA_CATEGORY_LABS],
                                    purposes=[pb.PURPOSE_TREATMENT], effect=pb.EFFECT_PERMIT))

    def query_as_clinician(self, first_node: int | None = None) -> dict:
        """The clinician's Query of the patient's labs, on the first node that answers; the node's status."""
        nodes = self.clinician_nodes
        if first_node is not None:
            nodes.home = first_node
        node, _, resends = nodes.first_answer(
            "Query", lambda n: nodes.clients[n].query(self.identity.principal_id, [pb.DATA_CATEGORY_LABS]))
        return {"node": node, "resends": resends}


def load(arguments) -> dict:
    servers = arguments.servers.split(",")
    work_dir = Path(arguments.work_dir)
    acks = open(work_dir / "acks.jsonl", "a", buffering=1)
    lock = threading.Lock()
    errors: list[str] = []
    stop_file = work_dir / "stop"
    deadline = time.monotonic() + arguments.max_seconds

    def record(line: dict) -> None:
        with lock:
            acks.write(json.dumps(line) + "\n")

    def worker(index: int) -> None:
        try:
            patient = Patient(servers, arguments.ca_file, index % len(servers), work_dir, index)
            record({"kind": "patient", "worker": index, "patient": patient.identity.principal_id,
                    "clinician": patient.clinician.principal_id})
            grants = 0
            while not stop_file.exists() and time.monotonic() < deadline:
                outcome = patient.grant()
                grants += 1
                record({"kind": "grant", "worker": index, "at": time.time(), **outcome})
                if grants % QUERY_EVERY == 0:
                    try:
                        outcome = patient.query_as_clinician()
                    except PermissionDeniedError as error:
                        raise Violation(f"the clinician's query after {grants} acknowledged grants was refused: "
                                        f"{error}") from None
                    record({"kind": "query", "worker": index, "at": time.time(), **outcome})
            patient.nodes.close()
            patient.clinician_nodes.close()
        except Exception as error:  # noqa: BLE001 - every failure is reported, with its kind
            message = f"worker {index}: {type(error).__name__}: {error}"
            with lock:
                errors.append(message)
            record({"kind": "error", "worker": index, "at": time.time(), "message": message})

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(arguments.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    acks.close()
    return {"errors": errors}


def revoke_check(arguments) -> dict:
    """For each ordered pair (A, B): grant on A, the grantee's query on B is allowed; revoke on A, and the
    grantee's query on B right after is PERMISSION_DENIED."""
    servers = arguments.servers.split(",")
    rounds = []
    pairs = [(a, b) for a in range(len(servers)) for b in range(len(servers)) if a != b]
    for a, b in pairs[:arguments.rounds]:
        work_dir = Path(arguments.work_dir) / f"revoke-{a + 1}-{b + 1}"
        work_dir.mkdir(parents=True, exist_ok=True)
        patient = Patient(servers, arguments.ca_file, a, work_dir, 0)
        observed = {"grant_node": a + 1, "query_node": b + 1}
        try:
            grant = patient.grant()
            observed["grant_acknowledged_by"] = grant["node"] + 1
            try:
                observed["query_before"] = "OK"
                patient.query_as_clinician(first_node=b)
            except PermissionDeniedError as error:
                observed["query_before"] = f"PERMISSION_DENIED: {error.message}"
            revoke = patient.commit(pb.Revoke(grant_id=grant["transaction_id"]))
            observed["revoke_acknowledged_by"] = revoke["node"] + 1
            try:
                answer = patient.query_as_clinician(first_node=b)
                observed["query_after"] = f"OK (node {answer['node'] + 1})"
            except PermissionDeniedError:
                observed["query_after"] = "PERMISSION_DENIED"
        except (Violation, LedgerError) as error:
            observed["error"] = f"{type(error).__name__}: {error}"
        finally:
            patient.nodes.close()
            patient.clinician_nodes.close()
        rounds.append(observed)
    return {"rounds": rounds}


def check(arguments) -> dict:
    servers = arguments.servers.split(",")
    work_dir = Path(arguments.work_dir)
    observer = NodeSet(servers, None, arguments.ca_file)
    report: dict = {"problems": []}
    problems = report["problems"]

    # Every node reaches the same height (the load has stopped; followers apply what etcd ordered).
    deadline = time.monotonic() + arguments.settle_seconds
    while True:
        heads = [client.chain_head() for client in observer.clients]
        heights = [head.height for head in heads]
        if len(set(heights)) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    report["heights"] = heights
    report["tree_sizes"] = [head.tree_size for head in heads]
    report["node_keys"] = [sorted(key.key_id for key in head.node_keys) for head in heads]
    if len(set(heights)) != 1:
        problems.append(f"the nodes' heights differ after {arguments.settle_seconds} s: {heights}")
    if len({tuple(keys) for keys in report["node_keys"]}) != 1 or len(report["node_keys"][0]) != len(servers):
        problems.append(f"GetChainHead lists different or too few node keys: {report['node_keys']}")
    height = min(heights)
    head_hashes = [head.head.header.hex() for head in heads]
    if len(set(heights)) == 1 and len(set(head_hashes)) != 1:
        problems.append(f"the head block headers differ at height {height}")

    # Block headers, byte for byte, up to the common height.
    chains = []
    for node, client in enumerate(observer.clients):
        headers = []
        for response in client.stub.GetBlocks(pb.GetBlocksRequest(start_height=1, end_height=height + 1),
                                              timeout=120):
            client.verifier.verify_block_header(response.block)
            headers.append(response.block.SerializeToString(deterministic=True))
        chains.append(headers)
    report["blocks_compared"] = [len(chain) for chain in chains]
    for node, chain in enumerate(chains[1:], start=2):
        if len(chain) != len(chains[0]):
            problems.append(f"node 1 returned {len(chains[0])} block headers up to {height}, node {node} {len(chain)}")
        for position, (first, other) in enumerate(zip(chains[0], chain), start=1):
            if first != other:
                problems.append(f"block {position} differs between node 1 and node {node}")
                break

    # Every acknowledged grant is on every node.
    lines = [json.loads(line) for line in (work_dir / "acks.jsonl").read_text().splitlines() if line.strip()]
    grants = [line for line in lines if line["kind"] == "grant"]
    report["acknowledged_grants"] = len(grants)
    report["acknowledged_without_receipt"] = sum(1 for grant in grants if grant["receipt"] is None)
    proved = [0] * len(servers)
    for grant in grants:
        receipt = grant["receipt"]
        if receipt is None:
            continue
        for node, client in enumerate(observer.clients):
            try:
                client.prove_inclusion(bytes.fromhex(receipt["ledger_entry"]), receipt["entry_index"])
                proved[node] += 1
            except (LedgerError, VerificationError) as error:
                problems.append(f"grant {grant['transaction_id']} (entry {receipt['entry_index']}, acknowledged by "
                                f"node {grant['node'] + 1}) does not prove on node {node + 1}: {error}")
    report["receipts_proved_per_node"] = proved

    acknowledged_by_worker: dict[int, set[str]] = {}
    for grant in grants:
        acknowledged_by_worker.setdefault(grant["worker"], set()).add(grant["transaction_id"])
    listed_total = [0] * len(servers)
    for worker, acknowledged in sorted(acknowledged_by_worker.items()):
        patient = load_identity(work_dir / f"patient-{worker}.pem")
        listings = []
        for node, server in enumerate(servers):
            with connect(server, patient, arguments.ca_file) as client:
                listed = {record.grant_id for record in client.list_grants(patient=patient.principal_id,
                                                                           include_inactive=True, page_size=1000)}
            listings.append(listed)
            listed_total[node] += len(listed)
            missing = acknowledged - listed
            if missing:
                problems.append(f"node {node + 1} does not list {len(missing)} acknowledged grant(s) of worker "
                                f"{worker}, e.g. {sorted(missing)[0]}")
        if any(listing != listings[0] for listing in listings):
            problems.append(f"the nodes list different grants of worker {worker}: "
                            f"{[len(listing) for listing in listings]}")
    report["grants_listed_per_node"] = listed_total
    report["failovers"] = sum(len(grant["sent_to"]) - 1 for grant in grants)
    observer.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["load", "revoke-check", "check"])
    parser.add_argument("--servers", required=True, help="host:port of every node, comma-separated")
    parser.add_argument("--ca-file", help="the nodes' CA (TLS); without it, plaintext")
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--max-seconds", type=float, default=170.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--settle-seconds", type=float, default=60.0)
    arguments = parser.parse_args()
    command = {"load": load, "revoke-check": revoke_check, "check": check}[arguments.command]
    print(json.dumps(command(arguments)), flush=True)


if __name__ == "__main__":
    main()
