// Checking what the node says about its log instead of trusting it (chain.proto, RFC 9162): inclusion and
// consistency proofs with WebCrypto SHA-256, node signatures of checkpoints, the node keys pinned on first use
// and the last checkpoint this device saw. A node that rewrites or forks its history, or hands out an entry
// that is not in the log it signed, fails here. No network and no storage of its own: the caller passes in the
// consistency-proof call and where the pinned state lives.

import { BinaryReader, WireType } from "../lib/protobuf.js";
import { Checkpoint, LedgerEntry } from "../generated/healthledger/v1/chain.js";
import { bytesEqual, concatBytes, fromHex, sha256, toHex } from "./bytes.js";
import { contextLabelled } from "./signing.js";

/** Context of the node's checkpoint signatures (identity.proto). */
export const CHECKPOINT_CONTEXT = "healthledger.v1.checkpoint";
/** KeyAlgorithm values of identity.proto. */
const KEY_ALGORITHM_ED25519 = 1;
const KEY_ALGORITHM_ECDSA_P256 = 2;
/** Longest audit path of a 64-bit log (chain.proto's InclusionProof). */
const MAX_INCLUSION_PATH = 64;
/** Longest consistency path of a 64-bit log (chain.proto's ConsistencyProof). */
const MAX_CONSISTENCY_PATH = 65;
const HASH_BYTES = 32;
/** Hex characters of a root hash shown to people: enough to tell two apart, short enough to read out. */
const SHORT_HASH_CHARACTERS = 16;

/** The node's log could not be verified. `kind` says how: "forked" (its history differs from what this device
 * saw before), "invalid" (a proof, entry or signature is wrong) or "unsupported" (this browser cannot check). */
export class LogVerificationError extends Error {
  /** An error of `kind` with a one-line message; `details` keeps the tree sizes and roots involved. */
  constructor(kind, message, details = {}) {
    super(message);
    this.name = "LogVerificationError";
    this.kind = kind;
    this.details = details;
  }
}

/** The first hex characters of a hash, as the page shows roots. */
export function shortHash(hash) {
  return toHex(hash).slice(0, SHORT_HASH_CHARACTERS);
}

/** RFC 9162 leaf hash: SHA-256(0x00 || entry bytes). */
export function leafHash(entryBytes) {
  return sha256(concatBytes(Uint8Array.of(0), entryBytes));
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

function isHash(value) {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}

/** Whether `auditPath` proves that the leaf `leafHashValue` is leaf `leafIndex` of the log of `treeSize` leaves
 * whose root is `rootHash` (RFC 9162 section 2.1.3.2). Sizes and indexes are BigInts. */
export async function isValidInclusion({ leafIndex, treeSize, leafHash: leaf, auditPath, rootHash }) {
  if (leafIndex >= treeSize || auditPath.length > MAX_INCLUSION_PATH) return false;
  if (!isHash(leaf) || !isHash(rootHash) || !auditPath.every(isHash)) return false;
  let fn = leafIndex;
  let sn = treeSize - 1n;
  let r = leaf;
  for (const p of auditPath) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(r, rootHash);
}

/** Whether `path` proves that the log of `firstSize` leaves with root `firstRoot` is a prefix of the log of
 * `secondSize` leaves with root `secondRoot` (RFC 9162 section 2.1.4.2). Equal sizes need equal roots and an
 * empty path. */
export async function isValidConsistency({ firstSize, secondSize, firstRoot, secondRoot, path }) {
  if (firstSize < 1n || firstSize > secondSize || path.length > MAX_CONSISTENCY_PATH) return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || !path.every(isHash)) return false;
  if (firstSize === secondSize) return path.length === 0 && bytesEqual(firstRoot, secondRoot);
  if (path.length === 0) return false;
  // A first tree of a power-of-two size is a complete subtree of the second, left out of the proof.
  const nodes = (firstSize & (firstSize - 1n)) === 0n ? [firstRoot, ...path] : path;
  let fn = firstSize - 1n;
  let sn = secondSize - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = nodes[0];
  let sr = nodes[0];
  for (const c of nodes.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return bytesEqual(fr, firstRoot) && bytesEqual(sr, secondRoot) && sn === 0n;
}

/** What a node's checkpoint signature covers: 0x00 || "healthledger.v1.checkpoint" || 0x00 || checkpoint. */
export function checkpointMessage(checkpointBytes) {
  return contextLabelled(CHECKPOINT_CONTEXT, checkpointBytes);
}

/** The raw bytes of field `fieldNumber` of an encoded message, which must occur exactly once as bytes; null
 * otherwise. Reads the wire format itself so nothing is re-encoded on the way. */
export function singleBytesField(messageBytes, fieldNumber) {
  const reader = new BinaryReader(messageBytes);
  let found = null;
  let occurrences = 0;
  while (reader.pos < reader.end) {
    const field = reader.tag();
    if (field === fieldNumber && reader.wireType === WireType.LENGTH_DELIMITED) {
      const start = reader.lengthDelimited();
      found = messageBytes.subarray(start, reader.pos);
      occurrences++;
    } else {
      if (field === fieldNumber) return null;
      reader.skipField();
    }
  }
  return occurrences === 1 ? found : null;
}

/** The pinned form of a NodeKey message (or of a stored one): plain values IndexedDB keeps as they are. */
function pinnedKey(nodeKey) {
  const publicKey = nodeKey.publicKey;
  return {
    keyId: nodeKey.keyId,
    algorithm: Number(publicKey?.algorithm ?? nodeKey.algorithm),
    keyBytes: toHex(publicKey?.keyBytes ?? fromHex(nodeKey.keyBytes)),
    validFromHeight: String(nodeKey.validFromHeight ?? 0n),
    validUntilHeight: nodeKey.validUntilHeight === undefined || nodeKey.validUntilHeight === null ? null : String(nodeKey.validUntilHeight),
  };
}

function inForce(key, height) {
  return BigInt(key.validFromHeight) <= height && (key.validUntilHeight === null || height <= BigInt(key.validUntilHeight));
}

/** A WebCrypto public key for a pinned node key; "unsupported" when this browser lacks the algorithm. */
async function importNodeKey(key) {
  const algorithm =
    key.algorithm === KEY_ALGORITHM_ED25519
      ? { name: "Ed25519" }
      : key.algorithm === KEY_ALGORITHM_ECDSA_P256
        ? { name: "ECDSA", namedCurve: "P-256" }
        : null;
  if (algorithm === null) throw new LogVerificationError("invalid", `Node key ${key.keyId.slice(0, 16)}… has an unknown algorithm (${key.algorithm}).`);
  try {
    return await crypto.subtle.importKey("raw", fromHex(key.keyBytes), algorithm, false, ["verify"]);
  } catch (error) {
    if (error?.name === "NotSupportedError" || error?.name === "NotImplementedError") {
      throw new LogVerificationError("unsupported", `This browser cannot check ${algorithm.name} signatures, so it cannot check the node's log; use a current browser.`);
    }
    throw new LogVerificationError("invalid", `Node key ${key.keyId.slice(0, 16)}… is not a valid public key.`);
  }
}

/** Whether `signature` by the node key `key` (pinned form, imported as `cryptoKey`) covers `message`. */
async function verifyNodeSignature(key, cryptoKey, signature, message) {
  if (signature.length !== 64) return false;
  const algorithm = key.algorithm === KEY_ALGORITHM_ED25519 ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  return crypto.subtle.verify(algorithm, cryptoKey, signature, message);
}

/** One chain's trust state on this device: the pinned node keys and the last checkpoint seen, both persisted by
 * `store` ({ load(): state | undefined, save(state) }), and the checkpoints verified since the page opened.
 * `consistencyProof(firstSize, secondSize)` asks the node for GetConsistencyProof. Every checkpoint it accepts is
 * signed by a pinned key in force at its height and consistent with the last one seen; that one only grows. */
export class LogVerifier {
  /** A verifier of chain `chainId`; `onVerified({ treeSize, blockHeight })` runs when the verified log grows. */
  constructor({ chainId, store, consistencyProof, onVerified = () => {} }) {
    this.chainId = chainId;
    this.store = store;
    this.consistencyProof = consistencyProof;
    this.onVerified = onVerified;
    this.state = null;
    this.cryptoKeys = new Map();
    /** Root hash (hex) of every tree size verified consistent with the last checkpoint seen. */
    this.rootsBySize = new Map();
    /** Checkpoints whose signature was checked, by the hex of their signed bytes. */
    this.checkedCheckpoints = new Map();
    this.queue = Promise.resolve();
  }

  /** Runs `work` after every earlier call, so the last checkpoint seen is updated one checkpoint at a time. */
  serialized(work) {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  async loadState() {
    if (this.state === null) {
      this.state = (await this.store.load()) ?? { chainId: this.chainId, nodeKeys: [], checkpoint: null };
      const last = this.state.checkpoint;
      if (last !== null) this.rootsBySize.set(last.treeSize, last.rootHash);
    }
    return this.state;
  }

  /** The last checkpoint this device verified ({ treeSize, blockHeight, rootHash } with BigInts), or null. */
  async lastCheckpoint() {
    const last = (await this.loadState()).checkpoint;
    return last === null ? null : { treeSize: BigInt(last.treeSize), blockHeight: BigInt(last.blockHeight), rootHash: fromHex(last.rootHash) };
  }

  /** Pins `nodeKeys` (GetChainHead.node_keys) on first use; later, keys already pinned must come back with the
   * same bytes and start height, and a new key is taken only when it starts after the last checkpoint seen (a
   * rotation), so a node cannot swap in a key that re-signs the history this device saw. */
  pinNodeKeys(nodeKeys) {
    return this.serialized(async () => {
      const state = await this.loadState();
      const offered = nodeKeys.map(pinnedKey);
      for (const key of offered) {
        if (key.keyId !== toHex(await sha256(fromHex(key.keyBytes)))) {
          throw new LogVerificationError("invalid", `Node key ${key.keyId.slice(0, 16)}… does not match its own key bytes.`);
        }
      }
      const seenHeight = state.checkpoint === null ? null : BigInt(state.checkpoint.blockHeight);
      const pinned = new Map(state.nodeKeys.map((key) => [key.keyId, key]));
      for (const key of offered) {
        const known = pinned.get(key.keyId);
        if (known === undefined) {
          if (state.nodeKeys.length > 0 && seenHeight !== null && BigInt(key.validFromHeight) <= seenHeight) {
            throw new LogVerificationError(
              "forked",
              `The node now names a signing key (${key.keyId.slice(0, 16)}…) for blocks this device already saw signed by another key.`,
            );
          }
          pinned.set(key.keyId, key);
        } else if (known.keyBytes !== key.keyBytes || known.algorithm !== key.algorithm || known.validFromHeight !== key.validFromHeight) {
          throw new LogVerificationError("forked", `The node's signing key ${key.keyId.slice(0, 16)}… is not the one this device pinned.`);
        } else if (known.validUntilHeight === null && key.validUntilHeight !== null) {
          if (seenHeight !== null && BigInt(key.validUntilHeight) < seenHeight) {
            throw new LogVerificationError("forked", `The node says key ${key.keyId.slice(0, 16)}… stopped signing before blocks this device saw it sign.`);
          }
          pinned.set(key.keyId, key);
        }
      }
      state.nodeKeys = [...pinned.values()];
      await this.store.save(state);
    });
  }

  /** The decoded checkpoint of `signed` (a SignedCheckpoint) once its signature is checked against the pinned
   * keys; cached by its bytes. */
  async checkSignature(signed) {
    const cacheKey = `${toHex(signed.checkpoint)}:${toHex(signed.signature)}`;
    const cached = this.checkedCheckpoints.get(cacheKey);
    if (cached !== undefined) return cached;
    let checkpoint;
    try {
      checkpoint = Checkpoint.fromBinary(signed.checkpoint);
    } catch {
      throw new LogVerificationError("invalid", "The node sent a checkpoint that does not decode.");
    }
    if (checkpoint.chainId !== this.chainId) {
      throw new LogVerificationError("forked", `The node sent a checkpoint of chain "${checkpoint.chainId}" instead of "${this.chainId}".`);
    }
    if (!isHash(checkpoint.rootHash)) throw new LogVerificationError("invalid", "The node sent a checkpoint without a 32-byte root hash.");
    const key = this.state.nodeKeys.find((candidate) => candidate.keyId === signed.nodeKeyId && inForce(candidate, checkpoint.blockHeight));
    if (key === undefined) {
      throw new LogVerificationError(
        "invalid",
        `The node's checkpoint of ${checkpoint.treeSize} entries names signing key ${signed.nodeKeyId.slice(0, 16)}…, which this device has not pinned for block ${checkpoint.blockHeight}.`,
      );
    }
    if (!this.cryptoKeys.has(key.keyId)) this.cryptoKeys.set(key.keyId, await importNodeKey(key));
    if (!(await verifyNodeSignature(key, this.cryptoKeys.get(key.keyId), signed.signature, checkpointMessage(signed.checkpoint)))) {
      throw new LogVerificationError(
        "invalid",
        `The node's checkpoint of ${checkpoint.treeSize} entries (root ${shortHash(checkpoint.rootHash)}) does not carry a valid signature by its pinned key.`,
        { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash },
      );
    }
    this.checkedCheckpoints.set(cacheKey, checkpoint);
    return checkpoint;
  }

  /** Checks `signed` (a SignedCheckpoint): signed by a pinned key, and the same log as every checkpoint seen
   * before, proved with GetConsistencyProof; remembered when it is the largest yet. The decoded Checkpoint. */
  checkCheckpoint(signed) {
    return this.serialized(async () => {
      const state = await this.loadState();
      if (signed === undefined) throw new LogVerificationError("invalid", "The node sent no checkpoint with its proof.");
      const checkpoint = await this.checkSignature(signed);
      const size = checkpoint.treeSize;
      const root = toHex(checkpoint.rootHash);
      const known = this.rootsBySize.get(String(size));
      if (known !== undefined) {
        if (known !== root) throw this.mismatch(size, fromHex(known), size, checkpoint.rootHash);
        return checkpoint;
      }
      const last = state.checkpoint;
      if (last !== null) {
        const lastSize = BigInt(last.treeSize);
        const lastRoot = fromHex(last.rootHash);
        const [firstSize, firstRoot, secondSize, secondRoot] =
          size < lastSize ? [size, checkpoint.rootHash, lastSize, lastRoot] : [lastSize, lastRoot, size, checkpoint.rootHash];
        // The empty log is a prefix of every log; there is nothing to prove, only its root to check.
        const consistent =
          firstSize === 0n
            ? bytesEqual(firstRoot, await sha256(new Uint8Array(0)))
            : await isValidConsistency({
                firstSize,
                secondSize,
                firstRoot,
                secondRoot,
                path: await this.provenPath(firstSize, secondSize, lastSize, lastRoot, size, checkpoint.rootHash),
              });
        if (!consistent) throw this.mismatch(lastSize, lastRoot, size, checkpoint.rootHash);
      }
      this.rootsBySize.set(String(size), root);
      if (last === null || size > BigInt(last.treeSize)) {
        state.checkpoint = {
          treeSize: String(size),
          blockHeight: String(checkpoint.blockHeight),
          rootHash: root,
          signedCheckpoint: toHex(signed.checkpoint),
          signature: toHex(signed.signature),
          nodeKeyId: signed.nodeKeyId,
        };
        await this.store.save(state);
        this.onVerified({ treeSize: size, blockHeight: checkpoint.blockHeight });
      }
      return checkpoint;
    });
  }

  /** The consistency path between two sizes from the node; a node that cannot prove one is treated as a node
   * whose history no longer contains what this device saw, unless the call failed in transit. */
  async provenPath(firstSize, secondSize, lastSize, lastRoot, size, root) {
    let response;
    try {
      response = await this.consistencyProof(firstSize, secondSize);
    } catch (error) {
      if (["INVALID_ARGUMENT", "NOT_FOUND", "OUT_OF_RANGE", "FAILED_PRECONDITION"].includes(error?.codeName)) {
        throw this.mismatch(lastSize, lastRoot, size, root);
      }
      throw error;
    }
    const proof = response?.proof;
    if (proof === undefined || proof.firstTreeSize !== firstSize || proof.secondTreeSize !== secondSize) {
      throw new LogVerificationError("invalid", `The node answered a consistency proof between other sizes than ${firstSize} and ${secondSize}.`);
    }
    return proof.consistencyPath;
  }

  /** The error for a log that is not the one this device saw: both sizes and short roots, for the banner. */
  mismatch(seenSize, seenRoot, nowSize, nowRoot) {
    return new LogVerificationError(
      "forked",
      `The node's history does not match what this device saw before: this device saw ${seenSize} entries with root ` +
        `${shortHash(seenRoot)}; the node now shows ${nowSize} entries with root ${shortHash(nowRoot)}, which is not the same history.`,
      { seenSize, seenRoot, nowSize, nowRoot },
    );
  }

  /** Checks that `entryBytes` is entry `entryIndex` of the log, in block `blockHeight`, by `proof` (an EntryProof
   * whose checkpoint is at or after the end of that block): the checkpoint as `checkCheckpoint` does, then the
   * inclusion proof against its root. The checkpoint. */
  async verifyEntry(entryBytes, proof, { entryIndex, blockHeight }) {
    const inclusion = proof?.inclusion;
    if (inclusion === undefined || proof.checkpoint === undefined) {
      throw new LogVerificationError("invalid", `The node sent entry ${entryIndex} without a proof that it is in the log.`);
    }
    const checkpoint = await this.checkCheckpoint(proof.checkpoint);
    const problem =
      inclusion.leafIndex !== entryIndex
        ? `a proof for entry ${inclusion.leafIndex}`
        : inclusion.treeSize !== checkpoint.treeSize
          ? `a proof against ${inclusion.treeSize} entries but a checkpoint of ${checkpoint.treeSize}`
          : blockHeight !== undefined && checkpoint.blockHeight < blockHeight
            ? `the checkpoint of block ${checkpoint.blockHeight}, before its block ${blockHeight}`
            : null;
    if (problem !== null) throw new LogVerificationError("invalid", `The node sent entry ${entryIndex} with ${problem}.`);
    const valid = await isValidInclusion({
      leafIndex: inclusion.leafIndex,
      treeSize: inclusion.treeSize,
      leafHash: await leafHash(entryBytes),
      auditPath: inclusion.auditPath,
      rootHash: checkpoint.rootHash,
    });
    if (!valid) {
      throw new LogVerificationError(
        "invalid",
        `Entry ${entryIndex} is not in the log the node signed (${checkpoint.treeSize} entries, root ${shortHash(checkpoint.rootHash)}): its proof does not lead there.`,
        { entryIndex, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash },
      );
    }
    return checkpoint;
  }

  /** Checks a TransactionReceipt: its ledger entry holds exactly `transactionBytes` (the SignedTransaction
   * sent) and is in the log at the receipt's place. */
  async verifyReceipt(receipt, transactionBytes) {
    if (receipt === undefined) throw new LogVerificationError("invalid", "The node committed the transaction but sent no receipt.");
    let held = null;
    try {
      held = singleBytesField(receipt.ledgerEntry, 2);
    } catch {
      held = null;
    }
    if (held === null || !bytesEqual(held, transactionBytes)) {
      throw new LogVerificationError("invalid", `The node's receipt for transaction ${receipt.transactionId.slice(0, 16)}… does not hold the transaction you signed.`);
    }
    return this.verifyEntry(receipt.ledgerEntry, receipt.proof, { entryIndex: receipt.entryIndex, blockHeight: receipt.blockHeight });
  }

  /** Checks a LoggedAuditEvent: its entry decodes to an audit event that is in the log at the place it names.
   * The event decoded from the proven bytes, which is what may be shown. */
  async verifyAuditEvent(logged) {
    let entry;
    try {
      entry = LedgerEntry.fromBinary(logged.ledgerEntry);
    } catch {
      entry = null;
    }
    if (entry?.entry.case !== "auditEvent") throw new LogVerificationError("invalid", "The node sent an audit event whose ledger entry is not an audit event.");
    const event = entry.entry.value;
    await this.verifyEntry(logged.ledgerEntry, logged.proof, { entryIndex: event.entryIndex, blockHeight: event.blockHeight });
    return event;
  }
}

/** A LogVerifier's store kept in memory only, for tools and tests. */
export function memoryTrustStore(initial) {
  let state = initial === undefined ? undefined : structuredClone(initial);
  return {
    load: async () => (state === undefined ? undefined : structuredClone(state)),
    save: async (next) => {
      state = structuredClone(next);
    },
  };
}
