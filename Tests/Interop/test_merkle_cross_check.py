"""The node's Merkle log cross-checked against an RFC 9162 implementation written here, from the RFC alone
(leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right)), sharing no code with the node or
with the Python client's healthledger.merkle.

A real node commits grants, writes, revocations and queries (allowed and denied, so audited) over many
blocks; it is stopped, and its block log is read here from the documented format (docs/DATA_DIRECTORY.md:
magic, frames with CRC-32C, StoredBlock payloads decoded with the protobuf modules generated from proto/).
Every leaf, each block's entries root and tree root, every header and checkpoint signature are recomputed and
compared. The node is restarted and its inclusion proofs for every entry, its consistency proofs between
many pairs of checkpoints, and the proofs carried by receipts and audit events are checked with the verifiers
here. Then copies of the directory are tampered with in Python (a flipped byte, two swapped entries, a
dropped audit event with roots and checksums redone, a checkpoint re-signed with another key) and each copy
is refused both by the checker here and by `healthledger verify --data-dir`, naming the block.

The RPCs run in a child process (this file run as a program), because grpcio cannot be imported next to the
`grpc.*` protobuf packages the interop suite generates; it only carries bytes, which are checked here."""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from interop_processes import ServerProcess

INTEROP_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEROP_DIR.parents[1]
CHAIN_ID = "merkle-cross-check"
DRIVER_TIMEOUT = 60.0

# --------------------------------------------------------------------------------------------------------
# RFC 9162 section 2.1, written from the RFC: MTH, and the verifiers of PATH and PROOF by recursion over the
# same split the RFC defines them with (k = largest power of two smaller than n).


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """k: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(leaves: list[bytes]) -> bytes:
    """MTH over leaf hashes (not entries): SHA-256 of nothing for none, the leaf hash for one."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(tree_hash(leaves[:k]), tree_hash(leaves[k:]))


def root_from_inclusion_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """The root PATH(index, D[size]) leads to from `leaf`, or None when the path has the wrong shape. The RFC
    lists the sibling of the top split last."""
    if size == 1:
        return leaf if not path else None
    if not path or not 0 <= index < size:
        return None
    k = split_point(size)
    *below, sibling = path
    if index < k:
        inner = root_from_inclusion_path(index, k, leaf, below)
        return None if inner is None else node_hash(inner, sibling)
    inner = root_from_inclusion_path(index - k, size - k, leaf, below)
    return None if inner is None else node_hash(sibling, inner)


def inclusion_holds(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    return 0 <= index < size and root_from_inclusion_path(index, size, leaf, path) == root


def roots_from_consistency_proof(m: int, n: int, path: list[bytes], complete: bool,
                                 old_root: bytes) -> tuple[bytes, bytes] | None:
    """The (old, new) roots SUBPROOF(m, D[n], complete) leads to, or None when the proof has the wrong shape.
    When the old tree is a complete subtree the RFC leaves its root out of the proof: it is `old_root`."""
    if m == n:
        if complete:
            return (old_root, old_root) if not path else None
        return (path[0], path[0]) if len(path) == 1 else None
    if not path:
        return None
    k = split_point(n)
    *below, last = path
    if m <= k:
        inner = roots_from_consistency_proof(m, k, below, complete, old_root)
        return None if inner is None else (inner[0], node_hash(inner[1], last))
    inner = roots_from_consistency_proof(m - k, n - k, below, False, old_root)
    return None if inner is None else (node_hash(last, inner[0]), node_hash(last, inner[1]))


def consistency_holds(m: int, n: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    if not 0 < m <= n:
        return False
    if m == n:
        return not path and old_root == new_root
    return roots_from_consistency_proof(m, n, path, True, old_root) == (old_root, new_root)


def inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(index, D[n]) over leaf hashes, to test the verifier on proofs made here."""
    if len(leaves) <= 1:
        return []
    k = split_point(len(leaves))
    if index < k:
        return inclusion_path(index, leaves[:k]) + [tree_hash(leaves[k:])]
    return inclusion_path(index - k, leaves[k:]) + [tree_hash(leaves[:k])]


def consistency_path(m: int, leaves: list[bytes], complete: bool = True) -> list[bytes]:
    """PROOF(m, D[n]) over leaf hashes, to test the verifier on proofs made here."""
    n = len(leaves)
    if m == n:
        return [] if complete else [tree_hash(leaves)]
    k = split_point(n)
    if m <= k:
        return consistency_path(m, leaves[:k], complete) + [tree_hash(leaves[k:])]
    return consistency_path(m - k, leaves[k:], False) + [tree_hash(leaves[:k])]


# --------------------------------------------------------------------------------------------------------
# The block log format (docs/DATA_DIRECTORY.md): "HLBLOCK1", then frames of length u32 LE, CRC-32C u32 LE of
# the length bytes and payload, and the payload: StoredBlock { header = 1; repeated entries = 2;
# checkpoint = 3 } (all length-delimited).

MAGIC = b"HLBLOCK1"


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@dataclass
class StoredBlock:
    """One block as the log stores it: signed header bytes, entry bytes, signed checkpoint bytes."""

    header: bytes
    entries: list[bytes]
    checkpoint: bytes

    @classmethod
    def decode(cls, payload: bytes) -> "StoredBlock":
        header, entries, checkpoint, offset = b"", [], b"", 0
        while offset < len(payload):
            tag, offset = _varint(payload, offset)
            if tag & 7 != 2:
                raise ValueError(f"field {tag >> 3} has wire type {tag & 7}, not length-delimited")
            length, offset = _varint(payload, offset)
            value = payload[offset:offset + length]
            if len(value) != length:
                raise ValueError("a field runs past the payload")
            offset += length
            if tag >> 3 == 1:
                header = value
            elif tag >> 3 == 2:
                entries.append(value)
            elif tag >> 3 == 3:
                checkpoint = value
        return cls(header, entries, checkpoint)

    def encode(self) -> bytes:
        out = bytearray()
        for number, value in [(1, self.header), *[(2, entry) for entry in self.entries], (3, self.checkpoint)]:
            out += _encode_varint(number << 3 | 2) + _encode_varint(len(value)) + value
        return bytes(out)


@dataclass
class BlockLog:
    """A block log split into frames: each frame's offset and payload."""

    offsets: list[int] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)

    @classmethod
    def read(cls, data: bytes) -> "BlockLog":
        """Every frame, whatever its checksum says (the checker judges)."""
        if not data.startswith(MAGIC):
            raise ValueError("not a block log: no HLBLOCK1 magic")
        log, offset = cls(), len(MAGIC)
        while offset < len(data):
            log.offsets.append(offset)
            length = int.from_bytes(data[offset:offset + 4], "little")
            log.payloads.append(data[offset:offset + 8 + length])  # whole frame, checked later
            offset += 8 + length
        return log

    def blocks(self) -> list[StoredBlock]:
        return [StoredBlock.decode(frame[8:]) for frame in self.payloads]

    @staticmethod
    def write(blocks: list[StoredBlock]) -> bytes:
        """The log holding `blocks`, with lengths and checksums computed here."""
        out = bytearray(MAGIC)
        for block in blocks:
            payload = block.encode()
            length = len(payload).to_bytes(4, "little")
            out += length + crc32c(length + payload).to_bytes(4, "little") + payload
        return bytes(out)


# --------------------------------------------------------------------------------------------------------
# The checker: the chain.proto rules, applied to a block log here.

CHECKPOINT_CONTEXT = b"healthledger.v1.checkpoint"
BLOCK_HEADER_CONTEXT = b"healthledger.v1.block-header"


def context_labelled(context: bytes, payload: bytes) -> bytes:
    return b"\x00" + context + b"\x00" + payload


class ChainProblem(Exception):
    """The first rule a block log breaks, with the height of the block."""

    def __init__(self, height: int, reason: str):
        self.height = height
        super().__init__(f"block {height}: {reason}")


@dataclass
class CheckedLog:
    """What the checker recomputed from a block log that passed."""

    leaves: list[bytes]
    entries: list[bytes]
    block_ends: list[int]
    headers: list[object]
    checkpoints: list[bytes]


def ed25519_verifies(public_key: bytes, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except InvalidSignature:
        return False


def check_block_log(data: bytes, protos, node_public_key: bytes, chain_id: str) -> CheckedLog:
    """Recomputes everything a block log commits to and compares; ChainProblem at the first mismatch."""
    classes = protos.message_classes
    SignedBlockHeader = classes["healthledger.v1.SignedBlockHeader"]
    BlockHeader = classes["healthledger.v1.BlockHeader"]
    SignedCheckpoint, Checkpoint = classes["healthledger.v1.SignedCheckpoint"], classes["healthledger.v1.Checkpoint"]
    LedgerEntry = classes["healthledger.v1.LedgerEntry"]
    node_key_id = hashlib.sha256(node_public_key).hexdigest()
    log = BlockLog.read(data)
    checked = CheckedLog([], [], [], [], [])
    previous_hash = bytes(32)
    audit_sequence = 0
    for height, frame in enumerate(log.payloads, start=1):
        length = frame[:4]
        if len(frame) < 8 or len(frame) - 8 != int.from_bytes(length, "little"):
            raise ChainProblem(height, "frame cut short")
        if crc32c(length + frame[8:]) != int.from_bytes(frame[4:8], "little"):
            raise ChainProblem(height, "frame checksum mismatch")
        block = StoredBlock.decode(frame[8:])
        signed_header = SignedBlockHeader.FromString(block.header)
        signed_checkpoint = SignedCheckpoint.FromString(block.checkpoint)
        for what, context, signed in (("header", BLOCK_HEADER_CONTEXT, signed_header),
                                      ("checkpoint", CHECKPOINT_CONTEXT, signed_checkpoint)):
            payload = signed.header if what == "header" else signed.checkpoint
            if signed.node_key_id != node_key_id:
                raise ChainProblem(height, f"{what} signed by {signed.node_key_id[:8]}, not the node key")
            if not ed25519_verifies(node_public_key, context_labelled(context, payload), signed.signature):
                raise ChainProblem(height, f"{what} signature does not verify")
        header = BlockHeader.FromString(signed_header.header)
        first_index = len(checked.leaves)
        if (header.chain_id, header.height, header.previous_block_hash) != (chain_id, height, previous_hash):
            raise ChainProblem(height, "chain id, height or previous block hash is not the one due")
        if (header.entry_count, header.first_entry_index) != (len(block.entries), first_index):
            raise ChainProblem(height, f"header counts {header.entry_count} entries from {header.first_entry_index}, "
                                       f"the block has {len(block.entries)} from {first_index}")
        for offset, entry_bytes in enumerate(block.entries):
            entry = LedgerEntry.FromString(entry_bytes)
            if entry.WhichOneof("entry") == "audit_event":
                event = entry.audit_event
                if (event.entry_index, event.block_height) != (first_index + offset, height):
                    raise ChainProblem(height, f"audit event {event.sequence} says it is entry {event.entry_index} "
                                               f"of block {event.block_height}, it is {first_index + offset}")
                if event.sequence != audit_sequence + 1:
                    raise ChainProblem(height, f"audit sequence {event.sequence} follows {audit_sequence}")
                audit_sequence = event.sequence
        leaves = [leaf_hash(entry) for entry in block.entries]
        if tree_hash(leaves) != header.entries_root_hash:
            raise ChainProblem(height, "entries do not hash to the header's entries root")
        checked.leaves += leaves
        checked.entries += block.entries
        tree_root = tree_hash(checked.leaves)
        if tree_root != header.tree_root_hash:
            raise ChainProblem(height, "the log does not hash to the header's tree root")
        checkpoint = Checkpoint.FromString(signed_checkpoint.checkpoint)
        if (checkpoint.chain_id, checkpoint.tree_size, checkpoint.root_hash, checkpoint.block_height) != \
                (chain_id, len(checked.leaves), tree_root, height):
            raise ChainProblem(height, "checkpoint does not match the recomputed log")
        previous_hash = hashlib.sha256(signed_header.header).digest()
        checked.block_ends.append(len(checked.leaves))
        checked.headers.append(header)
        checked.checkpoints.append(block.checkpoint)
    if not log.payloads:
        raise ChainProblem(1, "no block")
    return checked


# --------------------------------------------------------------------------------------------------------
# The tests

def test_the_verifiers_here_accept_the_rfcs_proofs_and_refuse_altered_ones():
    """Given every log of up to 17 entries, the verifiers here accept each PATH and PROOF the RFC defines and
    refuse the same proofs with one hash flipped, one hash missing, or asked of another index or size."""
    for n in range(1, 18):
        leaves = [leaf_hash(b"entry %d" % i) for i in range(n)]
        root = tree_hash(leaves)
        for index in range(n):
            path = inclusion_path(index, leaves)
            assert inclusion_holds(index, n, leaves[index], path, root)
            assert not inclusion_holds((index + 1) % n, n, leaves[index], path, root) or n == 1
            for position in range(len(path)):
                flipped = path[:position] + [bytes([path[position][0] ^ 1]) + path[position][1:]] + path[position + 1:]
                assert not inclusion_holds(index, n, leaves[index], flipped, root)
            if path:
                assert not inclusion_holds(index, n, leaves[index], path[:-1], root)
        for m in range(1, n + 1):
            old_root, proof = tree_hash(leaves[:m]), consistency_path(m, leaves)
            assert consistency_holds(m, n, old_root, root, proof)
            assert not consistency_holds(m, n, leaf_hash(b"other"), root, proof)
            for position in range(len(proof)):
                flipped = proof[:position] + [bytes([proof[position][0] ^ 1]) + proof[position][1:]] \
                    + proof[position + 1:]
                assert not consistency_holds(m, n, old_root, root, flipped)
            if proof:
                assert not consistency_holds(m, n, old_root, root, proof[:-1])
    assert crc32c(b"123456789") == 0xE3069283


def start_node(executable: Path, data_dir: Path, log: Path) -> ServerProcess:
    return ServerProcess([str(executable), "serve", "--data-dir", str(data_dir), "--chain-id", CHAIN_ID,
                          "--plaintext", "--log-level", "warning"], log, None)


def stop_node(server: ServerProcess) -> None:
    was_running, death = server.is_running, server.death()
    code = server.stop()
    assert was_running and code == 0, f"the node died ({death}) or exited {code}; log:\n{server.log_tail()}"


def run_driver(*arguments: str) -> dict:
    """This file as a program, with the Python client package of this tree for signing and sending."""
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "clients" / "python" / "src"))
    try:
        result = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True,
                                timeout=DRIVER_TIMEOUT, env=environment, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the driver did not finish {arguments[0]} within {DRIVER_TIMEOUT} s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"the driver exited {result.returncode}:\n{result.stderr[-3000:]}", pytrace=False)
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class Story:
    """A node's data directory after the traffic, what the node answered, and the log as recomputed here."""

    executable: Path
    directory: Path
    data_dir: Path
    answers: dict
    node_public_key: bytes
    node_private_key: object
    checked: CheckedLog
    protos: object

    def message(self, name: str, hex_bytes: str):
        return self.protos.message_classes[f"healthledger.v1.{name}"].FromString(bytes.fromhex(hex_bytes))

    def block_of(self, entry_index: int) -> int:
        return next(height for height, end in enumerate(self.checked.block_ends, start=1) if entry_index < end)

    def verify_copy(self, blocks_log: bytes, name: str) -> tuple[subprocess.CompletedProcess, ChainProblem]:
        """`healthledger verify --data-dir` on a copy of the directory holding `blocks_log`, and the problem the
        checker here finds in it (the test fails when it finds none)."""
        copy = self.directory / name
        shutil.copytree(self.data_dir, copy, ignore=shutil.ignore_patterns("content", "snapshots"))
        (copy / "blocks.log").write_bytes(blocks_log)
        result = subprocess.run([str(self.executable), "verify", "--data-dir", str(copy)], capture_output=True,
                                text=True, timeout=30, stdin=subprocess.DEVNULL)
        with pytest.raises(ChainProblem) as problem:
            check_block_log(blocks_log, self.protos, self.node_public_key, CHAIN_ID)
        return result, problem.value


@pytest.fixture(scope="module")
def story(healthledger, protos, tmp_path_factory) -> Story:
    """The traffic, run once for the module on a node that is then stopped."""
    from cryptography.hazmat.primitives import serialization

    directory = tmp_path_factory.mktemp("merkle-cross-check")
    data_dir = directory / "data"
    server = start_node(healthledger, data_dir, directory / "node-1.log")
    try:
        answers = run_driver("traffic", "--target", f"127.0.0.1:{server.port}")
    finally:
        stop_node(server)
    private_key = serialization.load_pem_private_key((data_dir / "node-key.pem").read_bytes(), password=None)
    public_key = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    checked = check_block_log((data_dir / "blocks.log").read_bytes(), protos, public_key, CHAIN_ID)
    return Story(healthledger, directory, data_dir, answers, public_key, private_key, checked, protos)


def check_entry_proof(story: Story, entry: bytes, entry_index: int, block_height: int, proof) -> None:
    """An EntryProof checked here: the entry is the log's, the checkpoint is a stored one of its block or a later
    block (receipts: its own; replayed audit events: the latest) and signed by the node key, and the inclusion path
    leads from the entry's leaf to the checkpoint's root."""
    assert entry == story.checked.entries[entry_index], f"entry {entry_index} is not the one in the block log"
    assert story.block_of(entry_index) == block_height
    stored = proof.checkpoint.SerializeToString()
    assert stored in story.checked.checkpoints, "the proof's checkpoint is none the node stored"
    assert story.checked.checkpoints.index(stored) >= block_height - 1, "the proof's checkpoint precedes the entry"
    checkpoint = story.protos.message_classes["healthledger.v1.Checkpoint"].FromString(proof.checkpoint.checkpoint)
    assert ed25519_verifies(story.node_public_key, context_labelled(CHECKPOINT_CONTEXT, proof.checkpoint.checkpoint),
                            proof.checkpoint.signature)
    inclusion = proof.inclusion
    assert (inclusion.leaf_index, inclusion.tree_size) == (entry_index, checkpoint.tree_size)
    assert inclusion_holds(entry_index, checkpoint.tree_size, leaf_hash(entry), list(inclusion.audit_path),
                           checkpoint.root_hash)


def test_the_block_log_recomputed_here_matches_every_header_and_checkpoint(story):
    """Given the stopped node's block log read here frame by frame, then every leaf, entries root, tree root,
    hash link and node signature recomputed here matches, over many blocks holding transactions and audit
    events; the node key of GetChainHead is the one in node-key.pem."""
    head = story.message("GetChainHeadResponse", story.answers["chain_head"])
    assert [key.public_key.key_bytes for key in head.node_keys] == [story.node_public_key]
    checked = story.checked
    assert len(checked.block_ends) >= 12, checked.block_ends
    kinds = [story.protos.message_classes["healthledger.v1.LedgerEntry"].FromString(entry).WhichOneof("entry")
             for entry in checked.entries]
    assert kinds.count("transaction") >= 7 and kinds.count("audit_event") >= 7
    assert story.answers["denials"] == 3
    head_checkpoint = story.protos.message_classes["healthledger.v1.Checkpoint"].FromString(head.checkpoint.checkpoint)
    assert head.checkpoint.SerializeToString() == checked.checkpoints[head_checkpoint.block_height - 1]


def test_receipts_and_audit_events_carry_proofs_that_verify_here(story):
    """Given the receipts of every transaction, the audit event of every allowed query and the patient's audit
    stream with proofs, then each entry is the block log's and each proof verifies here against the checkpoint
    stored at the end of its block."""
    for hex_bytes in story.answers["receipts"]:
        receipt = story.message("TransactionReceipt", hex_bytes)
        check_entry_proof(story, receipt.ledger_entry, receipt.entry_index, receipt.block_height, receipt.proof)
    streamed = [story.message("LoggedAuditEvent", hex_bytes) for hex_bytes in story.answers["audit_stream"]]
    queried = [story.message("LoggedAuditEvent", hex_bytes) for hex_bytes in story.answers["query_events"]]
    assert len(queried) == 4 and len(streamed) >= len(queried) + story.answers["denials"]
    for logged in queried + streamed:
        check_entry_proof(story, logged.ledger_entry, logged.event.entry_index, logged.event.block_height,
                          logged.proof)
    assert {logged.ledger_entry for logged in queried} <= {logged.ledger_entry for logged in streamed}


def test_the_restarted_nodes_inclusion_and_consistency_proofs_verify_here(story, tmp_path):
    """Given the node restarted on its directory, then GetInclusionProof for every entry (against the latest
    checkpoint and against its own block's) and GetConsistencyProof for every pair of checkpoints verify here,
    against roots recomputed from the block log; one altered hash in any of them is refused."""
    ends = story.checked.block_ends
    entries = len(story.checked.leaves)
    wanted = {"inclusion": [[leaf, size] for leaf in range(entries) for size in (None, ends[story.block_of(leaf) - 1])],
              "consistency": [[first, second] for i, first in enumerate(ends) for second in ends[i:] if first > 0]}
    (tmp_path / "wanted.json").write_text(json.dumps(wanted))
    server = start_node(story.executable, story.data_dir, story.directory / "node-2.log")
    try:
        proofs = run_driver("proofs", "--target", f"127.0.0.1:{server.port}", "--wanted", str(tmp_path / "wanted.json"))
    finally:
        stop_node(server)
    roots = {size: tree_hash(story.checked.leaves[:size]) for size in ends}
    Checkpoint = story.protos.message_classes["healthledger.v1.Checkpoint"]

    def signed_root(signed, size: int) -> bytes:
        assert ed25519_verifies(story.node_public_key, context_labelled(CHECKPOINT_CONTEXT, signed.checkpoint),
                                signed.signature)
        checkpoint = Checkpoint.FromString(signed.checkpoint)
        assert (checkpoint.tree_size, checkpoint.root_hash) == (size, roots[size])
        return checkpoint.root_hash

    for (leaf, size), hex_bytes in zip(wanted["inclusion"], proofs["inclusion"], strict=True):
        response = story.message("GetInclusionProofResponse", hex_bytes)
        size = size or entries
        root, path = signed_root(response.checkpoint, size), list(response.proof.audit_path)
        assert (response.proof.leaf_index, response.proof.tree_size) == (leaf, size)
        assert inclusion_holds(leaf, size, story.checked.leaves[leaf], path, root), (leaf, size)
        if path:
            assert not inclusion_holds(leaf, size, story.checked.leaves[leaf], [leaf_hash(b"x")] + path[1:], root)
    assert len(proofs["consistency"]) >= 50
    for (first, second), hex_bytes in zip(wanted["consistency"], proofs["consistency"], strict=True):
        response = story.message("GetConsistencyProofResponse", hex_bytes)
        old_root, new_root = signed_root(response.first_checkpoint, first), signed_root(response.second_checkpoint,
                                                                                           second)
        path = list(response.proof.consistency_path)
        assert consistency_holds(first, second, old_root, new_root, path), (first, second)
        if path:
            assert not consistency_holds(first, second, old_root, new_root, path[:-1] + [leaf_hash(b"x")])


def first_audit_event(story: Story) -> tuple[int, int]:
    """(height, offset in the block) of the log's first audit event."""
    LedgerEntry = story.protos.message_classes["healthledger.v1.LedgerEntry"]
    for index, entry in enumerate(story.checked.entries):
        if LedgerEntry.FromString(entry).WhichOneof("entry") == "audit_event":
            height = story.block_of(index)
            return height, index - (story.checked.block_ends[height - 2] if height > 1 else 0)
    raise AssertionError("no audit event in the log")


def original_blocks(story: Story) -> list[StoredBlock]:
    return BlockLog.read((story.data_dir / "blocks.log").read_bytes()).blocks()


def assert_both_refuse(result: subprocess.CompletedProcess, problem: ChainProblem, height: int, *phrases: str):
    assert problem.height == height, str(problem)
    assert result.returncode == 1, f"verify exited {result.returncode}: {result.stdout}{result.stderr}"
    message = result.stderr.strip()
    assert f"block {height}" in message, message
    for phrase in phrases:
        assert phrase in message, message


def test_a_flipped_byte_is_refused_by_both_checkers(story):
    data = bytearray((story.data_dir / "blocks.log").read_bytes())
    frames = BlockLog.read(bytes(data))
    height = len(frames.offsets) - 1
    data[frames.offsets[height - 1] + 8 + 20] ^= 0x01
    result, problem = story.verify_copy(bytes(data), "flipped")
    assert_both_refuse(result, problem, height, f"(frame at byte {frames.offsets[height - 1]})", "checksum mismatch")


def test_two_swapped_entries_are_refused_by_both_checkers_at_the_earlier_block(story):
    blocks = original_blocks(story)
    audit_height, offset = first_audit_event(story)
    earlier = max(height for height in range(1, audit_height) if len(blocks[height - 1].entries) == 1)
    moved = blocks[audit_height - 1].entries[offset]
    blocks[audit_height - 1].entries[offset] = blocks[earlier - 1].entries[0]
    blocks[earlier - 1].entries[0] = moved
    result, problem = story.verify_copy(BlockLog.write(blocks), "swapped")
    assert_both_refuse(result, problem, earlier, "audit event says it is entry")


def drop_first_audit_event(story: Story, sign) -> tuple[list[StoredBlock], int]:
    """The log without its first audit event, with entry counts, first indexes, both roots, hash links and
    checkpoints redone from there on; `sign(context, payload)` gives each redone signature (None keeps the old
    one)."""
    classes = story.protos.message_classes
    SignedBlockHeader = classes["healthledger.v1.SignedBlockHeader"]
    BlockHeader = classes["healthledger.v1.BlockHeader"]
    SignedCheckpoint, Checkpoint = classes["healthledger.v1.SignedCheckpoint"], classes["healthledger.v1.Checkpoint"]
    blocks = original_blocks(story)
    height, offset = first_audit_event(story)
    del blocks[height - 1].entries[offset]
    leaves = [leaf_hash(entry) for block in blocks[:height - 1] for entry in block.entries]
    previous = hashlib.sha256(SignedBlockHeader.FromString(blocks[height - 2].header).header).digest() \
        if height > 1 else bytes(32)
    for block in blocks[height - 1:]:
        signed_header = SignedBlockHeader.FromString(block.header)
        header = BlockHeader.FromString(signed_header.header)
        block_leaves = [leaf_hash(entry) for entry in block.entries]
        header.previous_block_hash, header.first_entry_index = previous, len(leaves)
        header.entry_count, header.entries_root_hash = len(block.entries), tree_hash(block_leaves)
        leaves += block_leaves
        header.tree_root_hash = tree_hash(leaves)
        signed_header.header = header.SerializeToString(deterministic=True)
        signed_header.signature = sign(BLOCK_HEADER_CONTEXT, signed_header.header) or signed_header.signature
        block.header = signed_header.SerializeToString(deterministic=True)
        previous = hashlib.sha256(signed_header.header).digest()
        signed_checkpoint = SignedCheckpoint.FromString(block.checkpoint)
        checkpoint = Checkpoint.FromString(signed_checkpoint.checkpoint)
        checkpoint.tree_size, checkpoint.root_hash = len(leaves), header.tree_root_hash
        signed_checkpoint.checkpoint = checkpoint.SerializeToString(deterministic=True)
        signed_checkpoint.signature = sign(CHECKPOINT_CONTEXT, signed_checkpoint.checkpoint) \
            or signed_checkpoint.signature
        block.checkpoint = signed_checkpoint.SerializeToString(deterministic=True)
    return blocks, height


def test_a_dropped_audit_event_with_roots_and_checksums_redone_is_refused_by_both_checkers(story):
    blocks, height = drop_first_audit_event(story, lambda context, payload: None)
    result, problem = story.verify_copy(BlockLog.write(blocks), "dropped")
    assert_both_refuse(result, problem, height, "signature")


def test_a_dropped_audit_event_re_signed_with_the_node_key_is_still_refused_by_both_checkers(story):
    """Even with the node's own key (an operator rewriting history), the audit events after the dropped one
    name their original places in the log, so the next of them gives the rewrite away."""
    blocks, height = drop_first_audit_event(
        story, lambda context, payload: story.node_private_key.sign(context_labelled(context, payload)))
    result, problem = story.verify_copy(BlockLog.write(blocks), "dropped-re-signed")
    assert problem.height >= height
    assert_both_refuse(result, problem, problem.height, "audit event says it is entry")


def test_a_checkpoint_re_signed_with_another_key_is_refused_by_both_checkers(story):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    SignedCheckpoint = story.protos.message_classes["healthledger.v1.SignedCheckpoint"]
    blocks = original_blocks(story)
    height = len(blocks) // 2 + 1
    forger = Ed25519PrivateKey.generate()
    forger_public = forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signed = SignedCheckpoint.FromString(blocks[height - 1].checkpoint)
    signed.signature = forger.sign(context_labelled(CHECKPOINT_CONTEXT, signed.checkpoint))
    signed.node_key_id = hashlib.sha256(forger_public).hexdigest()
    blocks[height - 1].checkpoint = signed.SerializeToString(deterministic=True)
    result, problem = story.verify_copy(BlockLog.write(blocks), "forged-checkpoint")
    assert "not the node key" in str(problem)
    assert_both_refuse(result, problem, height, "checkpoint signature does not verify")


# --------------------------------------------------------------------------------------------------------
# The child process: talks to the node with grpcio and the Python client package (only to sign and send),
# and prints raw response bytes as hex.

def drive_traffic(target: str) -> dict:
    """Grants, writes, allowed and denied queries and a revocation, one call at a time (so over many blocks);
    the receipts, the queries' audit events and the patient's audit stream with proofs."""
    from healthledger import Identity, LedgerClient, PermissionDeniedError, messages as pb

    def connect(identity):
        return LedgerClient(target, identity, plaintext=True, timeout=20, verify_proofs=False)

    patient, clinician, stranger = Identity.generate(), Identity.generate("p256"), Identity.generate()
    receipts, query_events, denials = [], [], 0
    with connect(patient) as as_patient, connect(clinician) as as_clinician, connect(stranger) as as_stranger:
        head = as_patient.chain_head()

        def read(reader, categories):
            nonlocal denials
            try:
                query_events.append(reader.query(patient.principal_id, categories).audit_event)
            except PermissionDeniedError:
                denials += 1

        labs = as_patient.grant(clinician.principal_id, [pb.DATA_CATEGORY_LABS])
        receipts.append(labs.receipt)
        for index, category in enumerate([pb.DATA_CATEGORY_LABS, pb.DATA_CATEGORY_VITALS, pb.DATA_CATEGORY_LABS]):
            receipts.append(as_patient.write(patient.principal_id, category, b"result %d" % index).receipt)
            read(as_clinician, [pb.DATA_CATEGORY_LABS])
        read(as_clinician, [pb.DATA_CATEGORY_CLINICAL_NOTES])
        read(as_stranger, [pb.DATA_CATEGORY_LABS])
        receipts.append(as_patient.grant(stranger.principal_id, [pb.DATA_CATEGORY_VITALS]).receipt)
        read(as_stranger, [pb.DATA_CATEGORY_VITALS])
        receipts.append(as_patient.revoke(labs.grant_id).receipt)
        read(as_clinician, [pb.DATA_CATEGORY_LABS])
        receipts.append(as_stranger.grant(patient.principal_id, [pb.DATA_CATEGORY_IMAGING]).receipt)
        request = pb.AuditStreamRequest(patient=patient.principal_id, start_sequence=1, include_proofs=True)
        metadata = (("authorization", f"Bearer {as_patient.session_token()}"),)
        stream = [item.event for item in as_patient.stub.AuditStream(request, metadata=metadata, timeout=20)
                  if item.WhichOneof("item") == "event"]
    return {"chain_head": head.SerializeToString().hex(), "denials": denials,
            "receipts": [receipt.SerializeToString().hex() for receipt in receipts],
            "query_events": [event.SerializeToString().hex() for event in query_events],
            "audit_stream": [event.SerializeToString().hex() for event in stream]}


def fetch_proofs(target: str, wanted: dict) -> dict:
    """GetInclusionProof for each [leaf, tree size or null] and GetConsistencyProof for each [first, second]."""
    import grpc

    from healthledger import messages as pb
    from healthledger.v1 import ledger_service_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = ledger_service_pb2_grpc.LedgerStub(channel)
        inclusion = []
        for leaf, size in wanted["inclusion"]:
            request = pb.GetInclusionProofRequest(leaf_index=leaf)
            if size is not None:
                request.tree_size = size
            inclusion.append(stub.GetInclusionProof(request, timeout=20).SerializeToString().hex())
        consistency = [stub.GetConsistencyProof(pb.GetConsistencyProofRequest(first_tree_size=first,
                                                                              second_tree_size=second),
                                                timeout=20).SerializeToString().hex()
                       for first, second in wanted["consistency"]]
    return {"inclusion": inclusion, "consistency": consistency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["traffic", "proofs"])
    parser.add_argument("--target", required=True)
    parser.add_argument("--wanted", help="JSON file of the proofs to fetch")
    arguments = parser.parse_args()
    if arguments.action == "traffic":
        result = drive_traffic(arguments.target)
    else:
        result = fetch_proofs(arguments.target, json.loads(Path(arguments.wanted).read_text()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
