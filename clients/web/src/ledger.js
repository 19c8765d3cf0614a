// The patient's connection to the node: the only module that touches the generated gRPC-Web client. It pins
// the chain id, keeps a session for private reads, numbers, signs and submits the patient's transactions
// (resending the very same bytes when the outcome is unknown), and follows the audit trail live, resuming
// after a drop from the last sequence seen (docs/MOBILE.md sections 2.3–2.6). Nothing the node says about its
// log is taken on trust: receipts, audit events and the reads' own audit events come with proofs that are
// checked (proofs.js) before they are shown, and after one failed check the connection refuses all further use.

import { GrpcWebTransport } from "../lib/grpc-web.js";
import {
  AuditStreamRequest,
  CreateSessionChallengeRequest,
  CreateSessionRequest,
  ExportFhirBundleRequest,
  GetChainHeadRequest,
  GetConsistencyProofRequest,
  GetPrincipalRequest,
  GrantRequest,
  LedgerClient,
  ListGrantsRequest,
  ProposeGrantsFromConsentRequest,
  QueryRequest,
  RevokeRequest,
} from "../generated/healthledger/v1/ledger_service.js";
import { KeyAlgorithm, PublicKey } from "../generated/healthledger/v1/identity.js";
import { Action, DataCategory, Effect, Grant, Purpose, Revoke } from "../generated/healthledger/v1/policy.js";
import { SignedTransaction, TransactionBody } from "../generated/healthledger/v1/transaction.js";
import { DecisionBasis, Outcome } from "../generated/healthledger/v1/audit.js";
import { GrantState } from "../generated/healthledger/v1/state.js";
import { bytesEqual, concatBytes, sha256 } from "./bytes.js";
import { outcomeUnknown } from "./errors.js";
import { sign } from "./keys.js";
import { chainTrustStore, deletePending, listPending, savePending } from "./keystore.js";
import { LogVerificationError, LogVerifier } from "./proofs.js";
import { MAX_BODY_BYTES, sessionMessage, transactionId } from "./signing.js";

export { Action, DataCategory, DecisionBasis, GrantState, LogVerificationError, Outcome, Purpose };

/** Sessions are renewed when less than this is left of them. */
const SESSION_RENEWAL_MARGIN_MS = 30000;
/** Lifetime asked for new sessions. */
const SESSION_TTL_MS = 900000n;
/** Sends of one transaction whose outcome stays unknown before the page gives up (and keeps it pending). */
const TRANSACTION_ATTEMPTS = 4;
/** Deadline of unary calls. */
const CALL_TIMEOUT_MS = 20000;
/** Longest wait between reconnections of the audit stream. */
const MAX_RECONNECT_DELAY_MS = 5000;

/** The chain this browser's key is pinned to, kept per principal. */
function pinnedChainKey(principalId) {
  return `healthledger.chain.${principalId}`;
}

/** The ledger refused or could not do something the page itself checks. */
export class LedgerClientError extends Error {
  /** An error with a one-line message naming the problem and what to do. */
  constructor(message) {
    super(message);
    this.name = "LedgerClientError";
  }
}

function wait(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The deterministic bytes of a TransactionBody carrying one operation (a oneof case and its message): what
 * the patient signs and the node checks byte for byte. */
export function transactionBodyBytes({ chainId, author, sequence, createdAtUnixMs, operationCase, operation }) {
  const body = new TransactionBody({
    chainId,
    author,
    sequence: BigInt(sequence),
    createdAtUnixMs: BigInt(createdAtUnixMs),
    operation: { case: operationCase, value: operation },
  });
  return body.toBinary();
}

/** A PERMIT grant by `patient` to `grantee`; `validUntilUnixMs` null means until revoked. */
export function permitGrant({ patient, grantee, actions, categories, purposes, validUntilUnixMs, note }) {
  return new Grant({
    patient,
    grantee,
    actions,
    categories,
    purposes,
    validUntilUnixMs: validUntilUnixMs === null ? undefined : BigInt(validUntilUnixMs),
    effect: Effect.EFFECT_PERMIT,
    note: note ?? "",
  });
}

/** What the submit RPCs need: the request class and the client method, by operation. */
const SUBMITTERS = {
  grant: { rpc: "grant", request: GrantRequest },
  revoke: { rpc: "revoke", request: RevokeRequest },
};

/** One patient's connection to the node serving this page. */
export class Ledger {
  /** A connection acting as `identity`, over gRPC-Web to `baseUrl` (this page's origin by default).
   * `onVerified({ treeSize, blockHeight })` runs when the log verified on this device grows;
   * `onTrustFailure(error)` once, when a proof or checkpoint fails (a LogVerificationError). */
  constructor(identity, { baseUrl, fetch, onVerified = () => {}, onTrustFailure = () => {} } = {}) {
    this.identity = identity;
    this.client = new LedgerClient(new GrpcWebTransport({ baseUrl: baseUrl ?? location.origin, fetch }));
    this.chainId = null;
    this.verifier = null;
    this.trustFailure = null;
    this.onVerified = onVerified;
    this.onTrustFailure = onTrustFailure;
    this.clockOffsetMs = 0;
    this.session = null;
    this.sessionRequest = null;
    this.submissions = Promise.resolve();
    this.publicKeyMessage = new PublicKey({
      algorithm: KeyAlgorithm.KEY_ALGORITHM_ECDSA_P256,
      keyBytes: identity.publicKey,
    });
  }

  /** The patient's principal id. */
  get principalId() {
    return this.identity.principalId;
  }

  /** Learns the chain id (pinned for this key on first use) and the node's clock, pins the node's keys on first
   * use and checks its head checkpoint against the last one this device saw; the chain head. */
  async connect() {
    this.refuseIfUntrusted();
    const head = await this.client.getChainHead(new GetChainHeadRequest(), { timeoutMs: CALL_TIMEOUT_MS });
    const pinned = localStorage.getItem(pinnedChainKey(this.principalId));
    if (pinned !== null && pinned !== head.chainId) {
      throw new LedgerClientError(
        `This node serves chain "${head.chainId}", but your key belongs to chain "${pinned}": open the dashboard of your own node.`,
      );
    }
    if (pinned === null) localStorage.setItem(pinnedChainKey(this.principalId), head.chainId);
    this.chainId = head.chainId;
    this.clockOffsetMs = Number(head.serverTimeUnixMs) - Date.now();
    this.verifier ??= new LogVerifier({
      chainId: head.chainId,
      store: chainTrustStore(head.chainId),
      consistencyProof: (firstTreeSize, secondTreeSize) =>
        this.client.getConsistencyProof(new GetConsistencyProofRequest({ firstTreeSize, secondTreeSize }), {
          timeoutMs: CALL_TIMEOUT_MS,
        }),
      onVerified: (verified) => this.onVerified(verified),
    });
    await this.checked(() => this.verifier.pinNodeKeys(head.nodeKeys));
    await this.checked(() => this.verifier.checkCheckpoint(head.checkpoint));
    const verified = await this.verifier.lastCheckpoint();
    if (verified !== null) this.onVerified(verified);
    return head;
  }

  // --- Proofs ---

  /** Runs a check of the node's log; a failed one is remembered, reported once, and makes every later call
   * refuse, so nothing unverified is shown after it. */
  async checked(check) {
    this.refuseIfUntrusted();
    if (this.verifier === null) throw new LedgerClientError("The node's log has not been checked yet; reload the page once the node is reachable.");
    try {
      return await check();
    } catch (error) {
      if (error instanceof LogVerificationError && this.trustFailure === null) {
        this.trustFailure = error;
        this.onTrustFailure(error);
      }
      throw error;
    }
  }

  /** Throws the failed check, if there was one. */
  refuseIfUntrusted() {
    if (this.trustFailure !== null) throw this.trustFailure;
  }

  /** Now by this device's clock, but never ahead of the node's: the node refuses bodies created in its future. */
  now() {
    return Date.now() + Math.min(0, this.clockOffsetMs);
  }

  // --- Sessions ---

  async createSession() {
    const challenge = await this.client.createSessionChallenge(
      new CreateSessionChallengeRequest({
        principalId: this.principalId,
        keyId: this.identity.keyId,
        publicKey: this.publicKeyMessage,
      }),
      { timeoutMs: CALL_TIMEOUT_MS },
    );
    if (challenge.chainId !== this.chainId) {
      throw new LedgerClientError(`The node's chain changed to "${challenge.chainId}"; reload the page.`);
    }
    const signature = await sign(this.identity, sessionMessage(this.chainId, this.principalId, challenge.challenge));
    const session = await this.client.createSession(
      new CreateSessionRequest({
        principalId: this.principalId,
        keyId: this.identity.keyId,
        publicKey: this.publicKeyMessage,
        challenge: challenge.challenge,
        signature,
        requestedTtlMs: SESSION_TTL_MS,
      }),
      { timeoutMs: CALL_TIMEOUT_MS },
    );
    this.session = { token: session.token, expiresAt: Number(session.expiresAtUnixMs) - this.clockOffsetMs };
  }

  /** Call options carrying a session token, a new one when `renew` or when the current one is about to expire. */
  async sessionOptions(renew = false, extra = {}) {
    const fresh = this.session !== null && this.session.expiresAt - Date.now() > SESSION_RENEWAL_MARGIN_MS;
    if (renew || !fresh) {
      this.sessionRequest ??= this.createSession().finally(() => {
        this.sessionRequest = null;
      });
      await this.sessionRequest;
    }
    return { metadata: { authorization: `Bearer ${this.session.token}` }, ...extra };
  }

  /** Runs a private read with a session, once more with a new session on UNAUTHENTICATED. */
  async privateCall(call) {
    this.refuseIfUntrusted();
    try {
      return await call(await this.sessionOptions(false, { timeoutMs: CALL_TIMEOUT_MS }));
    } catch (error) {
      if (error?.codeName !== "UNAUTHENTICATED") throw error;
      return call(await this.sessionOptions(true, { timeoutMs: CALL_TIMEOUT_MS }));
    }
  }

  // --- Transactions ---

  /** The patient's next sequence number, and whether the ledger knows no key of theirs yet. */
  async nextSequence() {
    try {
      const response = await this.privateCall((options) =>
        this.client.getPrincipal(new GetPrincipalRequest({ principalId: this.principalId }), options),
      );
      const next = response.principal?.nextSequence;
      if (next === undefined) throw new LedgerClientError("The node did not say your next sequence number.");
      return { sequence: BigInt(next), firstTransaction: false };
    } catch (error) {
      if (error?.codeName === "NOT_FOUND") return { sequence: 1n, firstTransaction: true };
      throw error;
    }
  }

  /** Signs `operation` (a TransactionBody oneof case and value) at the next sequence and submits it; the
   * answer and the transaction id. Transactions go one at a time so sequence numbers never collide. */
  submit(operationCase, operation) {
    const run = this.submissions.then(() => this.signAndSend(operationCase, operation));
    this.submissions = run.catch(() => {});
    return run;
  }

  async signAndSend(operationCase, operation) {
    this.refuseIfUntrusted();
    const { sequence, firstTransaction } = await this.nextSequence();
    const bodyBytes = transactionBodyBytes({
      chainId: this.chainId,
      author: this.principalId,
      sequence,
      createdAtUnixMs: this.now(),
      operationCase,
      operation,
    });
    if (bodyBytes.length > MAX_BODY_BYTES) {
      throw new LedgerClientError(`This transaction is ${bodyBytes.length} bytes; the node takes at most ${MAX_BODY_BYTES}.`);
    }
    const transaction = new SignedTransaction({
      body: bodyBytes,
      signature: await sign(this.identity, bodyBytes),
      keyId: this.identity.keyId,
      publicKey: firstTransaction ? this.publicKeyMessage : undefined,
    });
    const id = await transactionId(bodyBytes);
    const pending = { operation: operationCase, transaction: transaction.toBinary(), signedAt: Date.now() };
    await savePending(id, pending);
    return this.send(id, pending);
  }

  /** Sends a signed transaction until the node answers; the same bytes every time. ALREADY_EXISTS on a resend
   * means an earlier send committed, which is success (the node sends no receipt then). Kept pending when the
   * outcome stays unknown. A receipt is checked before it counts: its entry must hold exactly these bytes, in
   * the log the node signed. */
  async send(id, pending) {
    const { rpc, request } = SUBMITTERS[pending.operation];
    const transaction = SignedTransaction.fromBinary(pending.transaction);
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await this.client[rpc](new request({ transaction }), { timeoutMs: CALL_TIMEOUT_MS });
        await deletePending(id);
      } catch (error) {
        if (error?.codeName === "ALREADY_EXISTS" && attempt > 0) {
          await deletePending(id);
          return { id, response: null };
        }
        if (!outcomeUnknown(error)) {
          await deletePending(id);
          throw error;
        }
        if (attempt + 1 >= TRANSACTION_ATTEMPTS) throw error;
        await wait(250 * 2 ** attempt);
        continue;
      }
      await this.checked(() => this.verifier.verifyReceipt(response.receipt, pending.transaction));
      return { id, response };
    }
  }

  /** Resends transactions signed before a reload or a lost connection; the ids that are now settled. Queued
   * like new transactions, so a resend never races one for a sequence number. */
  resendPending() {
    const run = this.submissions.then(() => this.resendAll());
    this.submissions = run.catch(() => {});
    return run;
  }

  async resendAll() {
    const settled = [];
    for (const [id, pending] of await listPending()) {
      try {
        await this.send(id, pending);
        settled.push(id);
      } catch (error) {
        if (!outcomeUnknown(error)) settled.push(id);
      }
    }
    return settled;
  }

  /** Grants `grantee` the `actions` on `categories` for `purposes` until `validUntilUnixMs` (null: until
   * revoked); the grant id. */
  async grant({ grantee, actions, categories, purposes, validUntilUnixMs, note }) {
    return this.submitGrant(
      permitGrant({ patient: this.principalId, grantee, actions, categories, purposes, validUntilUnixMs, note }),
    );
  }

  /** Signs and submits a whole Grant message exactly as given (effect, validity, record date range, delegation
   * id and note included), through the same queue and resend path as `grant`; the grant id. */
  async submitGrant(grant) {
    const { id } = await this.submit("grant", grant);
    return id;
  }

  /** Revokes the grant with this id. */
  async revoke(grantId) {
    await this.submit("revoke", new Revoke({ grantId }));
  }

  // --- Private reads ---

  /** The grants a FHIR R4 Consent (its JSON bytes) states, as Ledger.ProposeGrantsFromConsent reads it: Grant
   * messages in the order to sign them, nested denies first. The node's Consent mapping does the reading, so
   * the page holds no FHIR rules of its own; a Consent it cannot state exactly is INVALID_ARGUMENT naming the
   * FHIR element. */
  async proposeGrantsFromConsent(consentJson) {
    const request = new ProposeGrantsFromConsentRequest({ consentJson });
    const response = await this.privateCall((options) => this.client.proposeGrantsFromConsent(request, options));
    return response.grants;
  }

  /** The patient's grants (GrantRecord messages), oldest first; inactive ones too when asked. */
  async listGrants({ includeInactive = false } = {}) {
    const grants = [];
    let pageToken = "";
    do {
      const request = new ListGrantsRequest({ patient: this.principalId, includeInactive, pageSize: 500, pageToken });
      const page = await this.privateCall((options) => this.client.listGrants(request, options));
      grants.push(...page.grants);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return grants;
  }

  /** The patient's own records: { auditSequence, records: [{ record, content? }] }; contents, when asked for,
   * are checked against their signed size and SHA-256. */
  async query({ categories, recordIds = [], includeContent = false }) {
    const request = new QueryRequest({
      patient: this.principalId,
      categories,
      purpose: Purpose.PURPOSE_PATIENT_REQUEST,
      recordIds,
      includeContent,
    });
    return this.privateCall(async (options) => {
      const result = { auditSequence: 0n, records: [] };
      let current = null;
      const finish = async () => {
        if (current === null || !includeContent || current.record.contentErased) return;
        const content = concatBytes(...current.chunks);
        const metadata = current.record.metadata;
        if (BigInt(content.length) !== metadata.sizeBytes || !bytesEqual(await sha256(content), metadata.contentSha256)) {
          throw new LedgerClientError("A record's content does not match its signed hash; it was discarded.");
        }
        current.content = content;
      };
      for await (const response of this.client.query(request, options)) {
        const part = response.part;
        if (part.case === "started") {
          await this.checkOwnRead(part.value);
          result.auditSequence = part.value.auditSequence;
        } else if (part.case === "record") {
          await finish();
          current = { record: part.value, chunks: [] };
          result.records.push(current);
        } else if (part.case === "chunk" && current !== null) {
          current.chunks.push(part.value.data);
        }
      }
      await finish();
      for (const entry of result.records) delete entry.chunks;
      return result;
    });
  }

  /** Checks a query's own audit event (QueryStarted.audit_event): in the log, the read of this query by the
   * patient, before any record of it is used. */
  async checkOwnRead(started) {
    await this.checkOwnEvent(started.auditEvent, started.auditSequence);
  }

  /** Checks one logged audit event of a read by the patient: proven in the log, the patient's own read of their
   * own data, and (when given) at `sequence`. */
  async checkOwnEvent(logged, sequence = undefined) {
    if (logged === undefined) throw new LogVerificationError("invalid", "The node released records without the proof that it logged your read.");
    const event = await this.checked(() => this.verifier.verifyAuditEvent(logged));
    const expected = sequence === undefined || event.sequence === sequence;
    if (!expected || event.actor !== this.principalId || event.patient !== this.principalId) {
      await this.checked(async () => {
        throw new LogVerificationError("invalid", `The audit event the node logged for your read (sequence ${event.sequence}) is not your read.`);
      });
    }
  }

  /** The patient's copy of everything the ledger holds about them, as the FHIR R4 Bundle of
   * Ledger.ExportFhirBundle (records, grants as Consents, the audit trail as AuditEvents): { started, bundle },
   * `bundle` its UTF-8 JSON bytes. The export's own audit events are checked as logged reads of this patient
   * before any of the Bundle is taken; `onProgress(bytes)` follows the download. */
  async exportFhirBundle({ onProgress = () => {} } = {}) {
    const request = new ExportFhirBundleRequest({ patient: this.principalId });
    return this.privateCall(async (options) => {
      let started = null;
      const pieces = [];
      let received = 0;
      for await (const response of this.client.exportFhirBundle(request, options)) {
        const part = response.part;
        if (part.case === "started") {
          if (part.value.auditEvents.length === 0) await this.checkOwnEvent(undefined);
          for (const logged of part.value.auditEvents) await this.checkOwnEvent(logged);
          started = part.value;
        } else if (part.case === "bundleChunk" && started !== null) {
          pieces.push(part.value);
          received += part.value.length;
          onProgress(received);
        }
      }
      if (started === null) throw new LedgerClientError("The node ended the export without sending it.");
      return { started, bundle: concatBytes(...pieces) };
    });
  }

  /** Follows the patient's audit trail from the first event, live, until `signal` aborts: `onEvent(event)` per
   * AuditEvent in sequence order, each only after its proof verified; `onStatus(state, error)` with "replaying",
   * "live", "reconnecting" or, after a failed proof (which ends the stream), "untrusted". A dropped stream or an
   * expired session resumes from the last sequence seen plus 1, without gaps or repeats. */
  async followAudit({ onEvent, onStatus, signal }) {
    let nextSequence = 1n;
    let renew = false;
    let failures = 0;
    while (!signal.aborted) {
      try {
        onStatus("replaying");
        this.refuseIfUntrusted();
        const options = await this.sessionOptions(renew, { signal });
        renew = false;
        const request = new AuditStreamRequest({
          patient: this.principalId,
          startSequence: nextSequence,
          follow: true,
          includeProofs: true,
        });
        for await (const response of this.client.auditStream(request, options)) {
          failures = 0;
          const item = response.item;
          if (item.case === "event") {
            const event = await this.checked(() => this.verifier.verifyAuditEvent(item.value));
            if (event.sequence < nextSequence) {
              await this.checked(async () => {
                throw new LogVerificationError("invalid", `The node sent audit event ${event.sequence} again, or out of order.`);
              });
            }
            nextSequence = event.sequence + 1n;
            onEvent(event);
          } else if (item.case === "replayCompleted") {
            onStatus("live");
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof LogVerificationError) {
          onStatus("untrusted", error);
          return;
        }
        renew = error?.codeName === "UNAUTHENTICATED";
        failures++;
        onStatus("reconnecting", error);
      }
      if (signal.aborted) return;
      await wait(Math.min(MAX_RECONNECT_DELAY_MS, failures === 0 ? 100 : 250 * 2 ** Math.min(failures, 5)), signal);
    }
  }
}
