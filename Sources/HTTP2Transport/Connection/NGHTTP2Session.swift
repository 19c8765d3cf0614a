import GRPCProtocol
import CNGHTTP2

/// What an nghttp2 session reports while it parses received bytes or pulls data to send; implemented by the
/// server and client connections. Every call happens on the connection's loop thread, inside
/// `NGHTTP2Session.receive` or `NGHTTP2Session.send`. Returning non-zero from the Int32 calls is fatal to the
/// session (NGHTTP2_ERR_CALLBACK_FAILURE) except where noted.
protocol HTTP2SessionDelegate: AnyObject {
    /// A HEADERS frame starts (request, response, or trailers).
    func sessionBeginHeaders(streamID: Int32, category: nghttp2_headers_category) -> Int32
    /// One header field of the block being received; NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE resets the stream.
    func sessionHeader(streamID: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Int32
    /// A whole frame arrived (for HEADERS: after its CONTINUATIONs).
    func sessionFrameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32
    /// A piece of a DATA frame's payload arrived.
    func sessionDataChunk(streamID: Int32, data: UnsafeRawBufferPointer) -> Int32
    /// A stream closed, normally or with `errorCode` (RST_STREAM, connection end).
    func sessionStreamClosed(streamID: Int32, errorCode: UInt32) -> Int32
    /// nghttp2 wants DATA payload for `streamID`: fill `buffer`, set NGHTTP2_DATA_FLAG_* in `flags`; return the
    /// count, or NGHTTP2_ERR_DEFERRED when nothing is ready yet (resumed later with `resumeData`).
    func sessionReadData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>) -> Int
    /// A frame left (was serialized into the output).
    func sessionFrameSent(_ frame: UnsafePointer<nghttp2_frame>) -> Int32
}

/// One nghttp2 session used as bytes in, bytes out: `receive` parses what the socket delivered, `send` pulls
/// the frames to write. Owned by one connection on one loop thread.
final class NGHTTP2Session {
    /// The raw session handle.
    let handle: OpaquePointer
    /// Receives the session's events; it owns this session, so it outlives it.
    unowned(unsafe) let delegate: any HTTP2SessionDelegate

    /// Creates a server or client session with `options` (built and freed by the caller).
    init(server: Bool, delegate: any HTTP2SessionDelegate, options: OpaquePointer?) {
        self.delegate = delegate
        var session: OpaquePointer?
        let callbacks = NGHTTP2Callbacks.shared.pointer
        // The user data is set right after, once `self` exists; nghttp2 calls nothing back before `receive`.
        let result =
            server
            ? nghttp2_session_server_new2(&session, callbacks, nil, options)
            : nghttp2_session_client_new2(&session, callbacks, nil, options)
        precondition(result == 0 && session != nil, "nghttp2 session creation failed: \(result)")
        self.handle = session!
        nghttp2_session_set_user_data(handle, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        nghttp2_session_del(handle)
    }

    /// Parses received bytes; false when the session hit a fatal error (the connection must close), which
    /// `receiveError` then holds.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
        let result = nghttp2_session_mem_recv(handle, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if result < 0 { receiveError = Int32(truncatingIfNeeded: result) }
        return result >= 0
    }

    /// The nghttp2 error (an NGHTTP2_ERR_* value) that made `receive` fail; 0 until then.
    private(set) var receiveError: Int32 = 0

    /// Appends frames ready to go out to `output` until it holds `limit` bytes or nothing is left; false on a
    /// fatal session error.
    func send(into output: inout [UInt8], limit: Int) -> Bool {
        while output.count < limit {
            var pointer: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(handle, &pointer)
            if count < 0 { return false }
            if count == 0 { break }
            output.append(contentsOf: UnsafeBufferPointer(start: pointer, count: count))
        }
        return true
    }

    /// Whether the session still wants to read or write; when neither, the connection is done.
    var isActive: Bool { nghttp2_session_want_read(handle) != 0 || nghttp2_session_want_write(handle) != 0 }

    /// Submits SETTINGS with `entries`.
    func submitSettings(_ entries: [(nghttp2_settings_id, UInt32)]) {
        var settings = entries.map { nghttp2_settings_entry(settings_id: Int32($0.0.rawValue), value: $0.1) }
        nghttp2_submit_settings(handle, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
    }

    /// Submits a response (server) HEADERS block; with `hasBody` DATA follows from `sessionReadData`,
    /// otherwise the block ends the stream.
    @discardableResult
    func submitResponse(streamID: Int32, headers: [HeaderField], hasBody: Bool) -> Int32 {
        HeaderBlock.withNameValues(headers) { nva, count in
            if hasBody {
                var provider = NGHTTP2Callbacks.dataProvider
                return nghttp2_submit_response(handle, streamID, nva, count, &provider)
            }
            return nghttp2_submit_response(handle, streamID, nva, count, nil)
        }
    }

    /// Submits a response HEADERS block built once (no per-call copy of its bytes); see `submitResponse`.
    @discardableResult
    func submitResponse(streamID: Int32, block: StaticHeaderBlock, hasBody: Bool) -> Int32 {
        if hasBody {
            var provider = NGHTTP2Callbacks.dataProvider
            return nghttp2_submit_response(handle, streamID, block.nameValues, block.count, &provider)
        }
        return nghttp2_submit_response(handle, streamID, block.nameValues, block.count, nil)
    }

    /// Submits a request (client) HEADERS block whose DATA comes from `sessionReadData`; returns the stream id
    /// or a negative nghttp2 error.
    func submitRequest(headers: [HeaderField]) -> Int32 {
        HeaderBlock.withNameValues(headers) { nva, count in
            var provider = NGHTTP2Callbacks.dataProvider
            return nghttp2_submit_request(handle, nil, nva, count, &provider, nil)
        }
    }

    /// Submits trailers ending the stream.
    @discardableResult
    func submitTrailer(streamID: Int32, headers: [HeaderField]) -> Int32 {
        HeaderBlock.withNameValues(headers) { nva, count in nghttp2_submit_trailer(handle, streamID, nva, count) }
    }

    /// Submits trailers built once, ending the stream.
    @discardableResult
    func submitTrailer(streamID: Int32, block: StaticHeaderBlock) -> Int32 {
        nghttp2_submit_trailer(handle, streamID, block.nameValues, block.count)
    }

    /// Resets a stream with `errorCode` (an nghttp2_error_code).
    func resetStream(_ streamID: Int32, errorCode: nghttp2_error_code) {
        nghttp2_submit_rst_stream(handle, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode.rawValue)
    }

    /// Lets a deferred data provider run again.
    func resumeData(streamID: Int32) {
        nghttp2_session_resume_data(handle, streamID)
    }

    /// Opens `count` bytes of flow-control window for `streamID` and the connection (WINDOW_UPDATE), or for the
    /// connection only when the stream is gone.
    func consume(streamID: Int32, count: Int) {
        guard count > 0 else { return }
        if nghttp2_session_consume(handle, streamID, count) != 0 {
            nghttp2_session_consume_connection(handle, count)
        }
    }

    /// Opens `count` bytes of connection-level window only.
    func consumeConnection(count: Int) {
        guard count > 0 else { return }
        nghttp2_session_consume_connection(handle, count)
    }

    /// Sends GOAWAY naming the last stream this side processed (server) and `errorCode`.
    func submitGoAway(errorCode: nghttp2_error_code, lastStreamID: Int32? = nil, debug: String = "") {
        let last = lastStreamID ?? nghttp2_session_get_last_proc_stream_id(handle)
        var bytes = Array(debug.utf8)
        nghttp2_submit_goaway(handle, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode.rawValue, &bytes, bytes.count)
    }

    /// Grows the connection's receive window to `size` bytes (the SETTINGS initial window covers streams only).
    func setConnectionWindow(_ size: Int32) {
        nghttp2_session_set_local_window_size(handle, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, size)
    }

    /// The name of an HTTP/2 error code ("PROTOCOL_ERROR"), for logs.
    static func errorCodeName(_ code: UInt32) -> String {
        String(cString: nghttp2_http2_strerror(code))
    }

    /// Whether the remote side of `streamID` is still open (the peer may send more).
    func isRemoteOpen(_ streamID: Int32) -> Bool {
        nghttp2_session_get_stream_remote_close(handle, streamID) == 0
    }
}

/// Builds `nghttp2_nv` arrays from header fields; nghttp2 copies them on submit, so they live only for the call.
enum HeaderBlock {
    static func withNameValues<R>(_ headers: [HeaderField], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        var storage: [UInt8] = []
        var offsets: [(Int, Int, Int, Int)] = []
        offsets.reserveCapacity(headers.count)
        for field in headers {
            let nameStart = storage.count
            storage.append(contentsOf: field.name.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: field.value.utf8)
            offsets.append((nameStart, valueStart - nameStart, valueStart, storage.count - valueStart))
        }
        storage.append(0)  // never empty, so the base address exists
        return storage.withUnsafeMutableBufferPointer { bytes in
            let base = bytes.baseAddress!
            let nva = offsets.map { nameStart, nameLength, valueStart, valueLength in
                nghttp2_nv(
                    name: base + nameStart, value: base + valueStart, namelen: nameLength, valuelen: valueLength,
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}

/// A header block whose bytes live for the whole process, so nghttp2 may reference them instead of copying
/// (NGHTTP2_NV_FLAG_NO_COPY_NAME / _VALUE): the response heads every call sends alike.
final class StaticHeaderBlock: Sendable {
    // nonisolated(unsafe): written once in init, then only read (by nghttp2, on any loop thread).
    nonisolated(unsafe) let nameValues: UnsafeMutablePointer<nghttp2_nv>
    /// The number of fields.
    let count: Int

    /// Copies `headers` (names lowercase, as HTTP/2 requires) into storage that is never freed.
    init(_ headers: [HeaderField]) {
        count = headers.count
        nameValues = .allocate(capacity: max(1, headers.count))
        for (index, field) in headers.enumerated() {
            let name = StaticHeaderBlock.permanentBytes(field.name)
            let value = StaticHeaderBlock.permanentBytes(field.value)
            nameValues[index] = nghttp2_nv(
                name: name.pointer, value: value.pointer, namelen: name.count, valuelen: value.count,
                flags: UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue))
        }
    }

    private static func permanentBytes(_ text: String) -> (pointer: UnsafeMutablePointer<UInt8>, count: Int) {
        let bytes = Array(text.utf8)
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
        pointer.initialize(from: bytes, count: bytes.count)
        return (pointer, bytes.count)
    }
}

/// The C callback table shared by all sessions; each callback finds its session through the user data.
final class NGHTTP2Callbacks: @unchecked Sendable {
    // @unchecked: the table is built once and only read by nghttp2 afterwards.
    let pointer: OpaquePointer

    static let shared = NGHTTP2Callbacks()

    /// The data provider every body uses; nghttp2 calls it with the stream id and session user data.
    static var dataProvider: nghttp2_data_provider {
        nghttp2_data_provider(
            source: nghttp2_data_source(ptr: nil),
            read_callback: { _, streamID, buffer, length, flags, _, userData in
                let session = Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
                return session.delegate.sessionReadData(
                    streamID: streamID, into: UnsafeMutableRawBufferPointer(start: buffer, count: length),
                    flags: flags!)
            })
    }

    private init() {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        let pointer = callbacks!
        nghttp2_session_callbacks_set_on_begin_headers_callback(pointer) { _, frame, userData in
            let session = Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
            return session.delegate.sessionBeginHeaders(
                streamID: frame!.pointee.hd.stream_id, category: frame!.pointee.headers.cat)
        }
        nghttp2_session_callbacks_set_on_header_callback(pointer) { _, frame, name, nameLength, value, valueLength, _, userData in
            let session = Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
            return session.delegate.sessionHeader(
                streamID: frame!.pointee.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nameLength),
                value: UnsafeRawBufferPointer(start: value, count: valueLength))
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(pointer) { _, frame, userData in
            let session = Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
            return session.delegate.sessionFrameReceived(frame!)
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(pointer) { _, _, streamID, data, length, userData in
            let session = Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
            return session.delegate.sessionDataChunk(
                streamID: streamID, data: UnsafeRawBufferPointer(start: data, count: length))
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(pointer) { _, streamID, errorCode, userData in
            let session = Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
            return session.delegate.sessionStreamClosed(streamID: streamID, errorCode: errorCode)
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(pointer) { _, frame, userData in
            let session = Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
            return session.delegate.sessionFrameSent(frame!)
        }
        self.pointer = pointer
    }
}
