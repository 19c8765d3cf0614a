// libFuzzer target: the input is the text of one .proto file, loaded the way healthledger-protoc loads it (parse,
// validate, resolve against its imports); what loads goes on through the descriptor builder and both renderers.
// Any input may be rejected with diagnostics; none may crash, hang or trip the address sanitizer.

import Foundation
import ProtoCodegen

/// The path the fuzz input is loaded under, include-relative like every other file.
let inputPath = "fuzz/input.proto"

/// The repository's proto/ tree, keyed by include-relative path, so inputs can import the real schema.
let importableSources: [String: String] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("proto")
    var sources: [String: String] = [:]
    guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [:] }
    for case let url as URL in walker where url.pathExtension == "proto" {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
        sources[String(url.path.dropFirst(root.path.count + 1))] = text
    }
    return sources
}()

/// libFuzzer's entry point: one input, one .proto file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtoParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var sources = importableSources
    sources[inputPath] = text
    let model: ProtoModel
    do {
        model = try ProtoLoader.load(sources: sources, files: [inputPath])
    } catch {
        // A rejection the command line would print without a single reason is a finding too.
        guard !error.diagnostics.isEmpty else { fatalError("rejected without a diagnostic") }
        _ = error.description
        return 0
    }
    _ = DescriptorBuilder.fileDescriptorSet(for: model, files: [inputPath])
    _ = CodeGenerator.generate(model: model)
    _ = CodeGenerator.generateJavaScript(model: model)
    return 0
}
