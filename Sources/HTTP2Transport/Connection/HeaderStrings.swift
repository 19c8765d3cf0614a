import Glibc

/// Makes Strings from header bytes without allocating for the names and values a connection sees on every
/// call: the gRPC protocol's names and values come from a fixed table, and the last few other values (the
/// :path, :authority, user-agent of a busy client) from a small per-connection cache. Loop thread only.
struct HeaderStrings {
    /// A string with its UTF-8 bytes, for comparing against received bytes.
    private struct Entry {
        let bytes: [UInt8]
        let string: String
        init(_ string: String) {
            self.bytes = Array(string.utf8)
            self.string = string
        }
    }

    /// The header names and values of gRPC requests (PROTOCOL-HTTP2.md, "Requests").
    private static let wellKnown: [Entry] = [
        ":method", "POST", ":scheme", "http", "https", ":path", ":authority", "content-type", "application/grpc",
        "application/grpc+proto", "te", "trailers", "user-agent", "grpc-timeout", "grpc-encoding",
        "grpc-accept-encoding", "identity", "gzip", "deflate", "identity,deflate,gzip", "identity,gzip,deflate",
        "accept-encoding", "grpc-message-type",
    ].map(Entry.init)

    /// Values longer than this are not cached (they are rarely repeated, and would pin memory).
    private static let cacheableLength = 256
    private static let cacheSize = 8

    private var recent: [Entry] = []
    private var nextSlot = 0

    /// The string of `bytes` (decoded as UTF-8, invalid sequences replaced, as `String(decoding:as:)` does).
    mutating func string(_ bytes: UnsafeRawBufferPointer) -> String {
        if let known = HeaderStrings.find(bytes, in: HeaderStrings.wellKnown) { return known }
        if let cached = HeaderStrings.find(bytes, in: recent) { return cached }
        let string = String(decoding: bytes, as: UTF8.self)
        guard bytes.count <= HeaderStrings.cacheableLength else { return string }
        let entry = Entry(string)
        if recent.count < HeaderStrings.cacheSize {
            recent.append(entry)
        } else {
            recent[nextSlot] = entry
            nextSlot = (nextSlot + 1) % HeaderStrings.cacheSize
        }
        return string
    }

    private static func find(_ bytes: UnsafeRawBufferPointer, in entries: [Entry]) -> String? {
        for entry in entries where entry.bytes.count == bytes.count {
            let equal = entry.bytes.withUnsafeBytes { stored in
                bytes.isEmpty || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
            if equal { return entry.string }
        }
        return nil
    }
}
