import Foundation
import Testing

/// The server against an independent client: Python grpcio (grpc-core) from the repository's .venv runs the
/// interop cases over h2c. Skipped when the venv is missing.
@Suite("Server against grpcio")
struct GRPCIOInteropTests {
    @Test(
        "grpcio runs unary, streaming, status, metadata, deadline, cancellation, size-limit, concurrency and gzip cases",
        .enabled(if: PythonRunner.isAvailable))
    func grpcioInterop() async throws {
        let server = try TestServer.start()
        let (status, output) = try await PythonRunner.run(Self.probeScript, arguments: [String(server.port)])
        await server.stop()
        #expect(status == 0, "\(output)")
        #expect(output.contains("FAILURES: 0"), "\(output)")
    }

    /// A grpcio client speaking raw protobuf bytes (no generated Python code, whose `grpc` package would clash
    /// with grpcio's) to grpc.testing.TestService.
    static let probeScript = #"""
import sys, threading, time
import grpc

port = int(sys.argv[1])
which = sys.argv[2:] or None
failures = []

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def field_varint(num, value): return varint(num << 3) + varint(value)
def field_bytes(num, data): return varint(num << 3 | 2) + varint(len(data)) + data
def payload(size): return field_varint(1, 0) + field_bytes(2, b"\0" * size) if size else b""

def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]; i += 1
        result |= (b & 0x7F) << shift; shift += 7
        if not b & 0x80: return result, i

def fields(data):
    i, out = 0, {}
    while i < len(data):
        key, i = read_varint(data, i)
        wt = key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 2:
            n, i = read_varint(data, i); v = data[i:i + n]; i += n
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(key >> 3, []).append(v)
    return out

def body_size(response, payload_field=1):
    f = fields(response)
    if payload_field not in f: return 0
    p = fields(f[payload_field][0])
    return len(p.get(2, [b""])[0])

def simple_request(response_size, request_size=0, status=None, compressed=None):
    out = field_varint(2, response_size) if response_size else b""
    if request_size: out += field_bytes(3, payload(request_size))
    if compressed is not None: out += field_bytes(6, field_varint(1, 1 if compressed else 0))
    if status: out += field_bytes(7, field_varint(1, status[0]) + field_bytes(2, status[1].encode()))
    return out

def streaming_output_request(sizes, interval_us=0, request_size=0):
    out = b""
    for s in sizes:
        params = field_varint(1, s) + (field_varint(2, interval_us) if interval_us else b"")
        out += field_bytes(2, params)
    if request_size: out += field_bytes(3, payload(request_size))
    return out

def check(name, condition, detail=""):
    if not condition:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", flush=True)
    else:
        print(f"ok   {name}", flush=True)

channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 16 << 20)])
# Connect first, as gRPC's own interop clients do, so the cases' 5 s deadlines time the calls and not a
# first connection made while the machine is busy starting other test processes.
grpc.channel_ready_future(channel).result(timeout=60)
svc = "/grpc.testing.TestService/"
unary = lambda m: channel.unary_unary(svc + m)
sstream = lambda m: channel.unary_stream(svc + m)
cstream = lambda m: channel.stream_unary(svc + m)
bidi = lambda m: channel.stream_stream(svc + m)

def run(name, fn):
    if which and name not in which: return
    try:
        fn()
    except Exception as e:
        check(name, False, repr(e))

def empty_unary():
    check("empty_unary", unary("EmptyCall")(b"", timeout=5) == b"")

def large_unary():
    r = unary("UnaryCall")(simple_request(314159, 271828), timeout=10)
    check("large_unary", body_size(r) == 314159, len(r))

def client_streaming():
    sizes = [27182, 8, 1828, 45904]
    r = cstream("StreamingInputCall")(iter([field_bytes(1, payload(s)) for s in sizes]), timeout=10)
    check("client_streaming", fields(r).get(1) == [74922], fields(r))

def server_streaming():
    sizes = [31415, 9, 2653, 58979]
    got = [body_size(r) for r in sstream("StreamingOutputCall")(streaming_output_request(sizes), timeout=10)]
    check("server_streaming", got == sizes, got)

def empty_stream():
    got = list(bidi("FullDuplexCall")(iter([]), timeout=10))
    check("empty_stream", got == [], got)

def ping_pong():
    sizes = [31415, 9, 2653, 58979]
    requests = []
    cond = threading.Condition()
    done = [False]
    def gen():
        for s in sizes:
            with cond:
                requests.append(s)
            yield streaming_output_request([s], request_size=s // 2)
            with cond:
                cond.wait_for(lambda: len(got) == len(requests), timeout=5)
    got = []
    for r in bidi("FullDuplexCall")(gen(), timeout=10):
        with cond:
            got.append(body_size(r))
            cond.notify_all()
    check("ping_pong", got == sizes, got)

def status_code_and_message():
    try:
        unary("UnaryCall")(simple_request(1, status=(2, "test status message")), timeout=5)
        check("status_code_and_message", False, "no error")
    except grpc.RpcError as e:
        check("status_code_and_message", e.code() == grpc.StatusCode.UNKNOWN and e.details() == "test status message", (e.code(), e.details()))
    try:
        list(bidi("FullDuplexCall")(iter([streaming_output_request([1]) + field_bytes(7, field_varint(1, 2) + field_bytes(2, "test status message é".encode()))]), timeout=5))
        check("status_code_and_message_stream", False, "no error")
    except grpc.RpcError as e:
        check("status_code_and_message_stream", e.code() == grpc.StatusCode.UNKNOWN and e.details() == "test status message é", (e.code(), e.details()))

def unimplemented():
    for path in ["/grpc.testing.TestService/UnimplementedCall", "/grpc.testing.UnimplementedService/UnimplementedCall", "/grpc.testing.TestService/Nope"]:
        try:
            channel.unary_unary(path)(b"", timeout=5)
            check("unimplemented " + path, False, "no error")
        except grpc.RpcError as e:
            check("unimplemented " + path, e.code() == grpc.StatusCode.UNIMPLEMENTED, (e.code(), e.details()))

def custom_metadata():
    md = [("x-grpc-test-echo-initial", "test_initial_metadata_value"), ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")]
    r, call = unary("UnaryCall").with_call(simple_request(314159, 271828), metadata=md, timeout=5)
    check("custom_metadata unary initial", ("x-grpc-test-echo-initial", "test_initial_metadata_value") in call.initial_metadata(), call.initial_metadata())
    check("custom_metadata unary trailing", ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab") in call.trailing_metadata(), call.trailing_metadata())
    it = bidi("FullDuplexCall")(iter([streaming_output_request([314159], request_size=271828)]), metadata=md, timeout=5)
    got = [body_size(x) for x in it]
    check("custom_metadata stream", got == [314159] and ("x-grpc-test-echo-initial", "test_initial_metadata_value") in it.initial_metadata() and ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab") in it.trailing_metadata(), (got, it.initial_metadata(), it.trailing_metadata()))

def timeout_on_sleeping_server():
    try:
        list(bidi("FullDuplexCall")(iter([streaming_output_request([27182], interval_us=2_000_000)]), timeout=0.3))
        check("timeout_on_sleeping_server", False, "no error")
    except grpc.RpcError as e:
        check("timeout_on_sleeping_server", e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, (e.code(), e.details()))

def cancel_after_first_response():
    it = bidi("FullDuplexCall")(iter([streaming_output_request([31415]), streaming_output_request([9], interval_us=3_000_000)]), timeout=10)
    first = next(it)
    it.cancel()
    try:
        next(it)
        check("cancel_after_first_response", False, "no error")
    except grpc.RpcError as e:
        check("cancel_after_first_response", body_size(first) == 31415 and e.code() == grpc.StatusCode.CANCELLED, e.code())

def too_large():
    try:
        unary("UnaryCall")(simple_request(1, 4 * 1024 * 1024 + 1), timeout=10)
        check("request_too_large", False, "no error")
    except grpc.RpcError as e:
        check("request_too_large", e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (e.code(), e.details()))
    # The connection is still usable afterwards.
    check("after_too_large", unary("EmptyCall")(b"", timeout=5) == b"")

def concurrent():
    futures = [unary("UnaryCall").future(simple_request(1000 + i, 100), timeout=20) for i in range(300)]
    sizes = [body_size(f.result()) for f in futures]
    check("concurrent_300_unary", sizes == [1000 + i for i in range(300)], "mismatch")

def compressed_response():
    r, call = unary("UnaryCall").with_call(simple_request(314159, 0, compressed=True), timeout=5, compression=grpc.Compression.Gzip)
    check("server_compressed_unary", body_size(r) == 314159, len(r))
    r = unary("UnaryCall")(simple_request(314159, 271828), timeout=5, compression=grpc.Compression.Gzip)
    check("client_compressed_unary", body_size(r) == 314159, len(r))

for name, fn in [("empty_unary", empty_unary), ("large_unary", large_unary), ("client_streaming", client_streaming),
                 ("server_streaming", server_streaming), ("empty_stream", empty_stream), ("ping_pong", ping_pong),
                 ("status_code_and_message", status_code_and_message), ("unimplemented", unimplemented),
                 ("custom_metadata", custom_metadata), ("timeout_on_sleeping_server", timeout_on_sleeping_server),
                 ("cancel_after_first_response", cancel_after_first_response), ("too_large", too_large),
                 ("concurrent", concurrent), ("compressed", compressed_response)]:
    run(name, fn)

print("FAILURES:", len(failures))
sys.exit(1 if failures else 0)
"""#
}
