// The dashboard's proof checks (clients/web/src/proofs.js) on a running node's real answers, over gRPC-Web with
// the committed generated client: a new P-256 patient grants and revokes, reads, and replays its audit trail with
// proofs; every receipt, audit event and the read's own audit event must verify, and the same receipt with one
// byte changed or holding another transaction must not. Prints what it observed as JSON for
// test_javascript_codegen.py. Usage: node live_proofs.mjs ORIGIN CA_FILE
import { readFileSync } from "node:fs";

import { GrpcWebTransport } from "../../../clients/web/lib/grpc-web.js";
import {
  AuditStreamRequest,
  CreateSessionChallengeRequest,
  CreateSessionRequest,
  GetConsistencyProofRequest,
  GrantRequest,
  LedgerClient,
  QueryRequest,
  RevokeRequest,
  TransactionReceipt,
} from "../../../clients/web/generated/healthledger/v1/ledger_service.js";
import { KeyAlgorithm, PublicKey } from "../../../clients/web/generated/healthledger/v1/identity.js";
import { Revoke } from "../../../clients/web/generated/healthledger/v1/policy.js";
import { SignedTransaction } from "../../../clients/web/generated/healthledger/v1/transaction.js";
import { Action, DataCategory, Purpose, permitGrant, transactionBodyBytes } from "../../../clients/web/src/ledger.js";
import { keyIdOf, principalIdOf } from "../../../clients/web/src/principal.js";
import { LogVerificationError, LogVerifier, memoryTrustStore } from "../../../clients/web/src/proofs.js";
import { sessionMessage, transactionId } from "../../../clients/web/src/signing.js";
import { ALL_CONCRETE_CATEGORIES } from "../../../clients/web/src/vocabulary.js";
import { http2Fetch } from "./http2_fetch.mjs";

const GRANTEE = "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8";
const SIGNATURE = { name: "ECDSA", hash: "SHA-256" };
const [origin, caFile] = process.argv.slice(2);
const fetch = http2Fetch(origin, { ca: readFileSync(caFile), servername: "localhost" });
const client = new LedgerClient(new GrpcWebTransport({ baseUrl: origin, fetch }));
const options = { timeoutMs: 15000 };
const observed = {};

const head = await client.getChainHead({}, options);
let consistencyCalls = 0;
const verifier = new LogVerifier({
  chainId: head.chainId,
  store: memoryTrustStore(),
  consistencyProof: (firstTreeSize, secondTreeSize) => {
    consistencyCalls++;
    return client.getConsistencyProof(new GetConsistencyProofRequest({ firstTreeSize, secondTreeSize }), options);
  },
});
await verifier.pinNodeKeys(head.nodeKeys);
observed.head = { treeSize: String((await verifier.checkCheckpoint(head.checkpoint)).treeSize), nodeKeys: head.nodeKeys.length };

const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
const patient = await principalIdOf(publicKey);
const keyId = await keyIdOf(publicKey);
const sign = async (bytes) => new Uint8Array(await crypto.subtle.sign(SIGNATURE, pair.privateKey, bytes));

async function submit(sequence, operationCase, operation, rpc, Request) {
  const body = transactionBodyBytes({
    chainId: head.chainId,
    author: patient,
    sequence,
    createdAtUnixMs: Number(head.serverTimeUnixMs),
    operationCase,
    operation,
  });
  const transaction = new SignedTransaction({
    body,
    signature: await sign(body),
    keyId,
    publicKey: sequence === 1 ? new PublicKey({ algorithm: KeyAlgorithm.KEY_ALGORITHM_ECDSA_P256, keyBytes: publicKey }) : undefined,
  });
  const response = await client[rpc](new Request({ transaction }), options);
  const sent = transaction.toBinary();
  const checkpoint = await verifier.verifyReceipt(response.receipt, sent);
  return { id: await transactionId(body), receipt: response.receipt, sent, treeSize: String(checkpoint.treeSize) };
}

async function refusal(promise) {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    return error instanceof LogVerificationError ? error.kind : `threw ${error}`;
  }
}

const grant = await submit(
  1,
  "grant",
  permitGrant({
    patient,
    grantee: GRANTEE,
    actions: [Action.ACTION_READ],
    categories: [DataCategory.DATA_CATEGORY_LABS],
    purposes: [Purpose.PURPOSE_TREATMENT],
    validUntilUnixMs: null,
  }),
  "grant",
  GrantRequest,
);
observed.grant = { entryIndex: String(grant.receipt.entryIndex), treeSize: grant.treeSize, idMatches: grant.id === grant.receipt.transactionId };

const damaged = Uint8Array.from(grant.receipt.ledgerEntry);
damaged[damaged.length - 1] ^= 1;
const otherTransaction = SignedTransaction.fromBinary(grant.sent);
otherTransaction.signature = Uint8Array.from(otherTransaction.signature).reverse();
observed.tampered = {
  entryByte: await refusal(verifier.verifyReceipt(new TransactionReceipt({ ...grant.receipt, ledgerEntry: damaged }), grant.sent)),
  otherTransaction: await refusal(verifier.verifyReceipt(grant.receipt, otherTransaction.toBinary())),
  wrongIndex: await refusal(verifier.verifyReceipt(new TransactionReceipt({ ...grant.receipt, entryIndex: grant.receipt.entryIndex + 1n }), grant.sent)),
};

const challenge = await client.createSessionChallenge(
  new CreateSessionChallengeRequest({ principalId: patient, keyId, publicKey: new PublicKey({ algorithm: KeyAlgorithm.KEY_ALGORITHM_ECDSA_P256, keyBytes: publicKey }) }),
  options,
);
const session = await client.createSession(
  new CreateSessionRequest({
    principalId: patient,
    keyId,
    challenge: challenge.challenge,
    signature: await sign(sessionMessage(head.chainId, patient, challenge.challenge)),
    requestedTtlMs: 600000n,
  }),
  options,
);
const authorized = { ...options, metadata: { authorization: `Bearer ${session.token}` } };

const query = new QueryRequest({ patient, categories: ALL_CONCRETE_CATEGORIES, purpose: Purpose.PURPOSE_PATIENT_REQUEST });
for await (const response of client.query(query, authorized)) {
  if (response.part.case !== "started") continue;
  const started = response.part.value;
  const event = await verifier.verifyAuditEvent(started.auditEvent);
  observed.query = { sequence: String(started.auditSequence), eventSequence: String(event.sequence), actor: event.actor === patient };
}

const revoke = await submit(2, "revoke", new Revoke({ grantId: grant.id }), "revoke", RevokeRequest);
observed.revoke = { entryIndex: String(revoke.receipt.entryIndex), treeSize: revoke.treeSize };

const events = [];
const stream = new AuditStreamRequest({ patient, startSequence: 1n, follow: false, includeProofs: true });
for await (const response of client.auditStream(stream, authorized)) {
  if (response.item.case !== "event") continue;
  const logged = response.item.value;
  const event = await verifier.verifyAuditEvent(logged);
  events.push({ sequence: String(event.sequence), entryIndex: String(event.entryIndex), hadProof: logged.proof !== undefined });
}
observed.audit = { events };
observed.verified = { treeSize: String((await verifier.lastCheckpoint()).treeSize), consistencyCalls };

fetch.close();
console.log(JSON.stringify(observed));
