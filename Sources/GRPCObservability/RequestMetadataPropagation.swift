import RPCCore
import Tracing

/// Reads propagated trace context (W3C `traceparent` and `tracestate` with OpenTelemetry's default propagator)
/// from a call's request metadata, for `Instrument.extract`.
struct RequestMetadataExtractor: Extractor {
    /// The text values of `key` joined by commas, as HTTP joins a repeated header field (W3C `tracestate` may be
    /// split over several); nil when there is none.
    func extract(key: String, from metadata: Metadata) -> String? {
        let values = metadata.values(forKey: key).compactMap(\.stringValue)
        switch values.count {
        case 0: return nil
        case 1: return values[0]
        default: return values.joined(separator: ",")
        }
    }
}

/// Writes trace context into a call's request metadata, for `Instrument.inject`.
struct RequestMetadataInjector: Injector {
    /// Sets `key` to `value`, dropping what the caller had under it: the client span is the parent the server
    /// must see, and two `traceparent` values would make the server's extraction ambiguous.
    func inject(_ value: String, forKey key: String, into metadata: inout Metadata) {
        metadata.removeAll(forKey: key)
        metadata.add(value, forKey: key)
    }
}
