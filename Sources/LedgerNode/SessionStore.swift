import LedgerCrypto
import LedgerDomain
import ProtobufWire
import RPCCore
import Synchronization

/// Session authentication (ledger_service.proto): single-use challenges and the short-lived bearer tokens they
/// are exchanged for, so a private read costs a table lookup rather than a signature check. In memory only: a
/// restarted node asks clients to sign in again.
final class SessionStore: Sendable {
    struct Challenge: Sendable {
        var principal: PrincipalID
        var keyID: String
        var expiresAt: Int64
    }

    /// An authenticated caller.
    struct Session: Sendable {
        var principal: PrincipalID
        var keyID: String
        var expiresAt: Int64
    }

    static let challengeLifetimeMs: Int64 = 60_000
    static let defaultSessionLifetimeMs: Int64 = 900_000
    static let sessionLifetimeRange: ClosedRange<Int64> = 60_000...3_600_000
    /// Outstanding challenges beyond this are refused until some expire (RESOURCE_EXHAUSTED).
    static let maxOutstandingChallenges = 100_000

    private let challenges = Mutex<[[UInt8]: Challenge]>([:])
    // Keyed by SHA-256 of the token, so lookups do not compare secrets byte by byte.
    private let sessions = Mutex<[[UInt8]: Session]>([:])

    /// A fresh challenge for `principal`'s key `keyID`.
    func issueChallenge(principal: PrincipalID, keyID: String, now: Int64) throws(RPCError) -> (
        challenge: [UInt8], expiresAt: Int64
    ) {
        let challenge = SecureRandom.bytes(32)
        let expiresAt = now + Self.challengeLifetimeMs
        let accepted = challenges.withLock { table -> Bool in
            if table.count >= Self.maxOutstandingChallenges {
                table = table.filter { $0.value.expiresAt > now }
                if table.count >= Self.maxOutstandingChallenges { return false }
            }
            table[challenge] = Challenge(principal: principal, keyID: keyID, expiresAt: expiresAt)
            return true
        }
        guard accepted else {
            throw RPCError(.resourceExhausted, "too many outstanding session challenges; retry in a minute")
        }
        return (challenge, expiresAt)
    }

    /// Takes the challenge out (single use); nil when unknown, expired or issued for another principal or key.
    func redeem(_ challenge: [UInt8], principal: PrincipalID, keyID: String, now: Int64) -> Challenge? {
        challenges.withLock { table -> Challenge? in
            guard let found = table.removeValue(forKey: challenge) else { return nil }
            guard found.expiresAt > now, found.principal == principal, found.keyID == keyID else { return nil }
            return found
        }
    }

    /// A new session token for `principal`, valid for `ttlMs` (clamped to 1 minute ... 1 hour).
    func createSession(principal: PrincipalID, keyID: String, ttlMs: Int64?, now: Int64) -> (
        token: String, expiresAt: Int64
    ) {
        let lifetime = min(
            max(ttlMs ?? Self.defaultSessionLifetimeMs, Self.sessionLifetimeRange.lowerBound),
            Self.sessionLifetimeRange.upperBound)
        let token = "hl_" + Base64.encode(SecureRandom.bytes(32))
            .replacingBase64Alphabet()
        let expiresAt = now + lifetime
        sessions.withLock { table in
            if table.count > 1_000 && table.count.isMultiple(of: 1_024) {
                table = table.filter { $0.value.expiresAt > now }
            }
            table[SHA256.hash(Array(token.utf8))] = Session(principal: principal, keyID: keyID, expiresAt: expiresAt)
        }
        return (token, expiresAt)
    }

    /// The live session of `token`.
    func session(token: String, now: Int64) -> Session? {
        let key = SHA256.hash(Array(token.utf8))
        return sessions.withLock { table -> Session? in
            guard let session = table[key] else { return nil }
            if session.expiresAt <= now {
                table[key] = nil
                return nil
            }
            return session
        }
    }

    /// Ends the session of `token`.
    func delete(token: String) {
        _ = sessions.withLock { $0.removeValue(forKey: SHA256.hash(Array(token.utf8))) }
    }

    /// The bearer token in the call's metadata (UNAUTHENTICATED when missing or malformed).
    static func bearerToken(in metadata: Metadata) throws(RPCError) -> String {
        guard let value = metadata["authorization"]?.stringValue else {
            throw RPCError(.unauthenticated, "a session is required: send \"authorization: Bearer <token>\" (see CreateSession)")
        }
        let prefix = "Bearer "
        guard value.hasPrefix(prefix) else {
            throw RPCError(.unauthenticated, "authorization: expected \"Bearer <token>\"")
        }
        let token = String(value.dropFirst(prefix.count))
        guard !token.isEmpty, token.utf8.count <= 512 else {
            throw RPCError(.unauthenticated, "authorization: malformed token")
        }
        return token
    }
}

extension String {
    /// Base64 made URL- and header-safe: '+' → '-', '/' → '_', no padding.
    fileprivate func replacingBase64Alphabet() -> String {
        String(
            String.UnicodeScalarView(
                unicodeScalars.compactMap { scalar -> Unicode.Scalar? in
                    switch scalar {
                    case "+": "-"
                    case "/": "_"
                    case "=": nil
                    default: scalar
                    }
                }))
    }
}
