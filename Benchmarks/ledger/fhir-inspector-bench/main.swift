// Throughput of the FHIR content check on Write's path next to the SHA-256 hashing that path already does, one
// thread, in MB/s (10^6 bytes per second). Run by hand (release build); see BENCHMARKS.md, "FHIR content check".
//
//   swift build -c release --product fhir-inspector-bench && .build/release/fhir-inspector-bench [--mib N] [--repeats R]
//       [--shape observations|pretty|attachment]
//
// The content is N MiB (default 256) of FHIR JSON in three shapes, fed in 1 MiB chunks as Write receives them:
//   observations  a Bundle of lab Observations written compactly (short strings, numbers, much structure);
//   pretty        the same Bundle pretty-printed with two-space indents (a third of it whitespace);
//   attachment    a DocumentReference whose attachment is one long base64 string (a scanned document, an image).
// Per shape and repeat it prints a RESULT line with the inspector's MB/s and SHA256Hasher's over the same chunks.
import Foundation
import Glibc
import FHIRMapping
import LedgerCrypto

func option(_ name: String, _ fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}

let mebibytes = option("--mib", 256)
let repeats = option("--repeats", 5)
let shapes =
    CommandLine.arguments.firstIndex(of: "--shape").map { [CommandLine.arguments[$0 + 1]] }
    ?? ["observations", "pretty", "attachment"]

/// One lab result as a Bundle entry, numbered so that no two are the same.
func observation(_ index: Int, pretty: Bool) -> String {
    let compact =
        #"{"fullUrl":"urn:uuid:obs-\#(index)","resource":{"resourceType":"Observation","id":"obs-\#(index)","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory","display":"Laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium [Moles/volume] in Serum or Plasma"}],"text":"Potassium"},"subject":{"reference":"Patient/p-1"},"effectiveDateTime":"2026-03-01T08:30:00Z","valueQuantity":{"value":4.\#(index % 90 + 10),"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"referenceRange":[{"low":{"value":3.5},"high":{"value":5.1}}],"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}]}}"#
    guard pretty else { return compact }
    return String(decoding: try! FHIRJSONParser.parse(compact).serialized(pretty: true), as: UTF8.self)
}

/// About `bytes` bytes of one resource of the given shape.
func content(_ shape: String, bytes: Int) -> [UInt8] {
    var text: [UInt8] = []
    text.reserveCapacity(bytes + 4096)
    if shape == "attachment" {
        text += Array(
            #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"application/pdf","data":""#
                .utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var state: UInt32 = 1
        while text.count < bytes {
            state = state &* 1_103_515_245 &+ 12_345
            text.append(alphabet[Int(state >> 16) & 63])
        }
        text += Array(#""}}]}"#.utf8)
        return text
    }
    let pretty = shape == "pretty"
    text += Array(#"{"resourceType":"Bundle","type":"collection","entry":["#.utf8)
    var index = 0
    while text.count < bytes {
        if index > 0 { text.append(UInt8(ascii: ",")) }
        text += Array(observation(index, pretty: pretty).utf8)
        index += 1
    }
    text += Array("]}".utf8)
    return text
}

/// Seconds `body` takes.
func timed(_ body: () -> Void) -> Double {
    var start = timespec()
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    body()
    clock_gettime(CLOCK_MONOTONIC, &end)
    return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
}

for shape in shapes {
    let bytes = content(shape, bytes: mebibytes << 20)
    let chunks = stride(from: 0, to: bytes.count, by: 1 << 20).map {
        Array(bytes[$0..<min(bytes.count, $0 + (1 << 20))])
    }
    let megabytes = Double(bytes.count) / 1e6
    for repeatIndex in 1...repeats {
        var resourceType = ""
        let inspectSeconds = timed {
            var inspector = FHIRContentInspector()
            for chunk in chunks { try! inspector.inspect(chunk) }
            resourceType = try! inspector.finish()
        }
        var digest: [UInt8] = []
        let hashSeconds = timed {
            var hasher = SHA256Hasher()
            for chunk in chunks { hasher.update(chunk) }
            digest = hasher.finalize()
        }
        print(
            "RESULT shape=\(shape) repeat=\(repeatIndex) bytes=\(bytes.count) resource=\(resourceType)"
                + " inspect_mb_per_s=\(Int(megabytes / inspectSeconds)) sha256_mb_per_s=\(Int(megabytes / hashSeconds))"
                + " digest=\(Hex.encode(digest).prefix(8))")
    }
}
