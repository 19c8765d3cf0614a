// libFuzzer target: a differential check of FHIRContentInspector, Write's streaming check of FHIR content, against
// FHIRJSONParser. The first input byte picks how the rest is cut into chunks (0: whole; n: chunks of n bytes); the
// rest is the content. The inspector's verdict must be the same in chunks as whole, and must agree with the parser:
// text the parser accepts passes exactly when it is an object whose resourceType is an R4 type, and text it refuses
// is refused (with the parser's offset and reason when the inspector's error is a JSON one). The one difference the
// inspector documents, a duplicate member name inside a nested object, is allowed.

import FHIRMapping

/// The inspector's verdict on `content` fed in chunks of `chunkSize` bytes (all at once for 0).
func inspect(_ content: UnsafeRawBufferPointer, chunkSize: Int) -> Result<String, FHIRContentError> {
    var inspector = FHIRContentInspector()
    do {
        var start = 0
        let step = chunkSize == 0 ? max(content.count, 1) : chunkSize
        while start < content.count {
            let end = min(content.count, start + step)
            try inspector.inspect(UnsafeRawBufferPointer(rebasing: content[start..<end]))
            start = end
        }
        return .success(try inspector.finish())
    } catch {
        return .failure(error)
    }
}

/// How many containers are open at `offset` of a JSON text (strings skipped).
func nestingDepth(of text: [UInt8], at offset: Int) -> Int {
    var depth = 0
    var inString = false
    var escaped = false
    for byte in text.prefix(offset) {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
        } else if byte == UInt8(ascii: "\"") {
            inString = true
        } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
            depth += 1
        } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
            depth -= 1
        }
    }
    return depth
}

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFHIRContent(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let content = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let whole = inspect(content, chunkSize: 0)
    let chunked = inspect(content, chunkSize: Int(data[0]))
    guard "\(whole)" == "\(chunked)" else { fatalError("whole: \(whole); in chunks of \(data[0]): \(chunked)") }
    let text = Array(content)
    do {
        let value = try FHIRJSONParser.parse(text)
        let expected: String? =
            if let type = value["resourceType"]?.stringValue, value.objectMembers != nil,
                FHIRResourceTypes.r4.contains(type)
            {
                type
            } else {
                nil
            }
        switch whole {
        case .success(let type):
            guard type == expected else {
                fatalError("accepted as \(type), the parser's value says \(expected ?? "refuse")")
            }
        case .failure(let error):
            // A text with more top-level members than any resource has is refused by design.
            guard expected == nil || error.reason.hasPrefix("its top-level members exceed") else {
                fatalError("refused (\(error)) a \(expected ?? "") the parser accepts")
            }
            guard error.syntax == nil else { fatalError("a JSON error (\(error)) where the parser found none") }
        }
    } catch {
        if error.reason.hasPrefix("duplicate member"), nestingDepth(of: text, at: error.offset) > 1 { return 0 }
        switch whole {
        case .success(let type): fatalError("accepted a \(type) the parser refuses: \(error)")
        case .failure(let found):
            if let syntax = found.syntax, syntax != error { fatalError("\(syntax) where the parser says \(error)") }
            if found.syntax == nil, found.offset > error.offset {
                fatalError("\(found) after the parser's \(error)")
            }
        }
    }
    return 0
}
