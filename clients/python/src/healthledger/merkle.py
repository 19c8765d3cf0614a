"""The Merkle log of RFC 9162 section 2.1 (Certificate Transparency v2), as chain.proto uses it: tree hashes,
proofs over trees built here, and the verifiers of inclusion and consistency proofs, written from the RFC."""

from __future__ import annotations

import hashlib

#: The root of the empty log: SHA-256 of no bytes.
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry): the hash of a log entry as a leaf of the tree."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an inner node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_tree_hash(entries: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 2.1.1, over entries (not their leaf hashes)."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return leaf_hash(entries[0])
    k = _largest_power_of_two_below(len(entries))
    return node_hash(merkle_tree_hash(entries[:k]), merkle_tree_hash(entries[k:]))


def inclusion_path(m: int, entries: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1: the inclusion proof of entry m, for trees a client builds itself."""
    if len(entries) <= 1:
        return []
    k = _largest_power_of_two_below(len(entries))
    if m < k:
        return inclusion_path(m, entries[:k]) + [merkle_tree_hash(entries[k:])]
    return inclusion_path(m - k, entries[k:]) + [merkle_tree_hash(entries[:k])]


def consistency_proof(m: int, entries: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1: the consistency proof from size m, for trees a client builds itself."""
    def subproof(m: int, entries: list[bytes], complete: bool) -> list[bytes]:
        n = len(entries)
        if m == n:
            return [] if complete else [merkle_tree_hash(entries)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return subproof(m, entries[:k], complete) + [merkle_tree_hash(entries[k:])]
        return subproof(m - k, entries[k:], False) + [merkle_tree_hash(entries[:k])]
    return subproof(m, entries, True)


def verify_inclusion(leaf_index: int, tree_size: int, entry_hash: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: whether `path` proves the leaf `entry_hash` at `leaf_index` in the tree `root`."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, entry_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2: whether `path` proves the tree of size `first` a prefix of the one of `second`.
    Equal sizes are consistent exactly when the roots are equal and the proof is empty."""
    if first < 1 or first > second:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0
