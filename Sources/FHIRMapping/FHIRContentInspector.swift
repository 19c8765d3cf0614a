/// Why content said to be FHIR JSON is not one FHIR resource: the element at fault (`content` or
/// `content.resourceType`), the byte offset where it showed, and what is wrong.
public struct FHIRContentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The element at fault, as a path: `content` or `content.resourceType`.
    public var element: String
    /// Index of the first byte that does not fit (for a missing element, where the resource ended).
    public var offset: Int
    /// What is wrong, without the element.
    public var reason: String
    /// The JSON syntax error, when the bytes are not JSON at all (rather than JSON that is not a resource).
    public var syntax: FHIRJSONSyntaxError?

    /// An error of `element` at `offset`.
    public init(element: String, offset: Int, reason: String, syntax: FHIRJSONSyntaxError? = nil) {
        self.element = element
        self.offset = offset
        self.reason = reason
        self.syntax = syntax
    }

    /// The bytes are not JSON.
    static func notJSON(_ syntax: FHIRJSONSyntaxError) -> FHIRContentError {
        FHIRContentError(element: "content", offset: syntax.offset, reason: syntax.description, syntax: syntax)
    }

    /// One line naming the element first, e.g. `content.resourceType: required`.
    public var description: String { "\(element): \(reason)" }
}

/// Checks, chunk by chunk as content streams in, that its bytes are one FHIR resource in JSON: one strict RFC 8259
/// value under FHIRJSONParser's rules (UTF-8, escapes, numbers, nesting depth, nothing after the value), an object
/// whose string member `resourceType` names an R4 resource type, and no member name twice at its top level.
///
/// Memory stays bounded whatever the content's size: a stack of container kinds at most
/// `FHIRJSONParser.maximumDepth` deep (bits of one integer), the top-level member names (at most
/// `maximumTopLevelMembers` of them in `maximumTopLevelNameBytes`: some KiB for a real resource, tens at most), and
/// the `resourceType` value. A text with more top-level members than that is refused: no FHIR resource has them. Duplicate names inside nested objects are not looked for, as that would need memory
/// growing with the content. Errors carry the offset FHIRJSONParser would give for the same bytes.
public struct FHIRContentInspector: Sendable {
    /// Most bytes of top-level member names, all names together; a FHIR resource's few dozen elements use a few
    /// hundred.
    public static let maximumTopLevelNameBytes = 16 * 1024
    /// Most top-level members; R4's largest resources have about a hundred elements, with their primitive
    /// extensions (`_name`) twice that.
    public static let maximumTopLevelMembers = 512
    /// Longest `resourceType` value kept; R4's longest type name has 33 bytes.
    static let maximumResourceTypeBytes = 64

    /// The resource type, once its value has been read and found to be an R4 resource type.
    public private(set) var resourceType: String?
    /// Bytes inspected so far.
    public private(set) var offset = 0
    private var failure: FHIRContentError?

    private enum State: UInt8 {
        /// A value must come next (the top-level one, an array element after ',' or an object member's).
        case value
        /// After '[': a value or ']'.
        case arrayValueOrEnd
        /// After '{': a member name or '}'.
        case memberNameOrEnd
        /// After ',' in an object: a member name.
        case memberName
        /// After a member name: ':'.
        case colon
        /// After a value inside a container: ',' or the closing bracket.
        case afterValue
        /// After the top-level value: only whitespace.
        case done
        /// Inside a string literal.
        case string
        /// After a backslash in a string.
        case escape
        /// Reading the 4 hex digits of a \u escape (`hexDigitsLeft` of them left).
        case unicodeEscape
        /// After a high surrogate's escape: a backslash must follow.
        case lowSurrogateBackslash
        /// After that backslash: 'u' must follow.
        case lowSurrogateU
        /// Inside true, false or null.
        case literal
        /// After '-': a digit must follow.
        case numberMinus
        /// After a leading 0.
        case numberZero
        /// In the integer part's digits.
        case numberInteger
        /// After '.': a digit must follow.
        case numberFractionStart
        /// In the fraction's digits.
        case numberFraction
        /// After 'e' or 'E': a sign or a digit.
        case numberExponentStart
        /// After the exponent's sign: a digit must follow.
        case numberExponentSign
        /// In the exponent's digits.
        case numberExponent
    }

    /// What a string being read is, for the inspector to keep its text.
    private enum StringRole: UInt8 {
        /// A value not kept.
        case other
        /// A member name inside a nested object, not kept.
        case nestedName
        /// A member name of the resource itself.
        case topLevelName
        /// The value of the resource's `resourceType`.
        case resourceTypeValue
    }

    private var state = State.value
    /// Kinds of the open containers as bits, innermost lowest: 1 an array, 0 an object (at most 100 of them).
    private var containerBits: UInt128 = 0
    /// How many containers are open.
    private var depth = 0
    private var stringRole = StringRole.other
    /// Offset of the opening quote of the string being read.
    private var stringStart = 0
    /// The decoded UTF-8 text of the string being kept (a top-level member name or the resourceType).
    private var kept: [UInt8] = []
    /// Whether the kept resourceType grew beyond `maximumResourceTypeBytes` (then it is no resource type).
    private var keptOverflowed = false
    /// Start of the current run of unescaped string bytes; FHIRJSONParser reports bad UTF-8 there.
    private var runStart = 0
    private var runHasInvalidUTF8 = false
    /// Continuation bytes the current UTF-8 sequence still needs, and the range the next one must be in.
    private var utf8Needed: UInt8 = 0
    private var utf8Low: UInt8 = 0x80
    private var utf8High: UInt8 = 0xBF
    private var hexDigitsLeft: UInt8 = 0
    private var hexValue: UInt32 = 0
    /// The high surrogate of a pair whose low half is being read.
    private var highSurrogate: UInt32?
    private var lowSurrogateBackslashOffset = 0
    private var literalWord: StaticString = "null"
    private var literalIndex = 0
    private var topLevelNames: Set<String> = []
    private var topLevelNameBytes = 0
    private var memberIsResourceType = false
    private var sawResourceType = false

    /// An inspector before the first byte.
    public init() {
        kept.reserveCapacity(64)
    }

    /// Inspects the next bytes of the content. After an error every later call throws it again.
    public mutating func inspect(_ chunk: UnsafeRawBufferPointer) throws(FHIRContentError) {
        if let failure { throw failure }
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
        do {
            try scan(base.assumingMemoryBound(to: UInt8.self), count: chunk.count)
        } catch {
            failure = error
            throw error
        }
        offset += chunk.count
    }

    /// Inspects the next bytes of the content.
    public mutating func inspect(_ chunk: [UInt8]) throws(FHIRContentError) {
        let result: Result<Void, FHIRContentError> = chunk.withUnsafeBytes { bytes in
            do throws(FHIRContentError) {
                try inspect(bytes)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Ends the content: throws unless it held one whole resource, else returns its resource type.
    public mutating func finish() throws(FHIRContentError) -> String {
        if let failure { throw failure }
        do {
            try end()
        } catch {
            failure = error
            throw error
        }
        guard let resourceType else { preconditionFailure("a finished resource has a resource type") }
        return resourceType
    }

    /// Inspects `text` whole.
    public static func inspect(_ text: [UInt8]) throws(FHIRContentError) -> String {
        var inspector = FHIRContentInspector()
        try inspector.inspect(text)
        return try inspector.finish()
    }

    // MARK: - The state machine

    private func syntaxError(_ at: Int, _ reason: String) -> FHIRContentError {
        .notJSON(FHIRJSONSyntaxError(offset: at, reason: reason))
    }

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    // Bytes are read through a pointer, one state transition at a time; the common states (whitespace, plain
    // string bytes, digits) loop in place so that a byte costs a few comparisons.
    private mutating func scan(_ bytes: UnsafePointer<UInt8>, count: Int) throws(FHIRContentError) {
        var index = 0
        while index < count {
            switch state {
            case .string:
                try scanString(bytes, count: count, index: &index)
            case .value, .arrayValueOrEnd:
                while index < count && Self.isWhitespace(bytes[index]) { index += 1 }
                guard index < count else { break }
                if state == .arrayValueOrEnd && bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    closeContainer()
                    continue
                }
                try beginValueAfterWhitespace(bytes, count: count, index: &index)
            case .memberNameOrEnd, .memberName:
                try memberAfterWhitespace(bytes, count: count, index: &index)
            case .colon:
                try valueAfterColon(bytes, count: count, index: &index)
            case .afterValue:
                while index < count && Self.isWhitespace(bytes[index]) { index += 1 }
                guard index < count else { break }
                let byte = bytes[index]
                if innermostIsObject {
                    switch byte {
                    case UInt8(ascii: ","):
                        state = .memberName
                        index += 1
                        try memberAfterWhitespace(bytes, count: count, index: &index)
                    case UInt8(ascii: "}"):
                        try closeObject(at: offset + index)
                        index += 1
                    default: throw syntaxError(offset + index, "expected ',' or '}' in an object")
                    }
                } else {
                    switch byte {
                    case UInt8(ascii: ","):
                        state = .value
                        index += 1
                        try beginValueAfterWhitespace(bytes, count: count, index: &index)
                    case UInt8(ascii: "]"):
                        closeContainer()
                        index += 1
                    default: throw syntaxError(offset + index, "expected ',' or ']' in an array")
                    }
                }
            case .done:
                while index < count && Self.isWhitespace(bytes[index]) { index += 1 }
                guard index < count else { break }
                throw syntaxError(offset + index, "text after the JSON value")
            case .escape:
                try escape(bytes[index], at: offset + index)
                index += 1
            case .unicodeEscape:
                try hexDigit(bytes[index], at: offset + index)
                index += 1
            case .lowSurrogateBackslash:
                guard bytes[index] == UInt8(ascii: "\\") else {
                    throw syntaxError(offset + index, "a high surrogate must be followed by a low one")
                }
                lowSurrogateBackslashOffset = offset + index
                state = .lowSurrogateU
                index += 1
            case .lowSurrogateU:
                guard bytes[index] == UInt8(ascii: "u") else {
                    throw syntaxError(lowSurrogateBackslashOffset, "a high surrogate must be followed by a low one")
                }
                state = .unicodeEscape
                hexDigitsLeft = 4
                hexValue = 0
                index += 1
            case .literal:
                let word = literalWord
                guard bytes[index] == word.utf8Start[literalIndex] else {
                    throw syntaxError(offset + index, "unexpected character")
                }
                literalIndex += 1
                index += 1
                if literalIndex == word.utf8CodeUnitCount { endValue() }
            case .numberMinus:
                guard Self.isDigit(bytes[index]) else { throw syntaxError(offset + index, "expected a digit") }
                state = bytes[index] == UInt8(ascii: "0") ? .numberZero : .numberInteger
                index += 1
            case .numberZero:
                let byte = bytes[index]
                if Self.isDigit(byte) { throw syntaxError(offset + index, "a number may not start with 0") }
                if !numberGoesOn(byte) { endValue() } else { index += 1 }
            case .numberInteger, .numberFraction, .numberExponent:
                while index < count && Self.isDigit(bytes[index]) { index += 1 }
                guard index < count else { break }
                if state == .numberExponent || !numberGoesOn(bytes[index]) { endValue() } else { index += 1 }
            case .numberFractionStart:
                guard Self.isDigit(bytes[index]) else {
                    throw syntaxError(offset + index, "expected a digit after '.'")
                }
                state = .numberFraction
                index += 1
            case .numberExponentStart:
                let byte = bytes[index]
                if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                    state = .numberExponentSign
                } else if Self.isDigit(byte) {
                    state = .numberExponent
                } else {
                    throw syntaxError(offset + index, "expected a digit in the exponent")
                }
                index += 1
            case .numberExponentSign:
                guard Self.isDigit(bytes[index]) else {
                    throw syntaxError(offset + index, "expected a digit in the exponent")
                }
                state = .numberExponent
                index += 1
            }
        }
    }

    // The next three run the usual sequence of a member (name, colon, value) or an element without going back to
    // the dispatch on the state between its steps: that dispatch's indirect jump was the hottest spot on compact
    // JSON. Each stops where the chunk ends, the state saying where it stood.

    /// In state `.value`: skips whitespace, begins the value, and reads on through a string value.
    @inline(__always)
    private mutating func beginValueAfterWhitespace(
        _ bytes: UnsafePointer<UInt8>, count: Int, index: inout Int
    ) throws(FHIRContentError) {
        while index < count && Self.isWhitespace(bytes[index]) { index += 1 }
        guard index < count else { return }
        try beginValue(bytes[index], at: offset + index)
        index += 1
        if state == .string { try scanString(bytes, count: count, index: &index) }
    }

    /// In state `.memberName` or `.memberNameOrEnd`: a member's name, then its colon and the start of its value.
    private mutating func memberAfterWhitespace(
        _ bytes: UnsafePointer<UInt8>, count: Int, index: inout Int
    ) throws(FHIRContentError) {
        while index < count && Self.isWhitespace(bytes[index]) { index += 1 }
        guard index < count else { return }
        let byte = bytes[index]
        if state == .memberNameOrEnd && byte == UInt8(ascii: "}") {
            try closeObject(at: offset + index)
            index += 1
            return
        }
        guard byte == UInt8(ascii: "\"") else { throw syntaxError(offset + index, "expected a member name in quotes") }
        beginString(at: offset + index, role: depth == 1 ? .topLevelName : .nestedName)
        index += 1
        try scanString(bytes, count: count, index: &index)
        if state == .colon { try valueAfterColon(bytes, count: count, index: &index) }
    }

    /// In state `.colon`: the colon, then the start of the value.
    @inline(__always)
    private mutating func valueAfterColon(
        _ bytes: UnsafePointer<UInt8>, count: Int, index: inout Int
    ) throws(FHIRContentError) {
        while index < count && Self.isWhitespace(bytes[index]) { index += 1 }
        guard index < count else { return }
        guard bytes[index] == UInt8(ascii: ":") else {
            throw syntaxError(offset + index, "expected ':' after a member name")
        }
        state = .value
        index += 1
        try beginValueAfterWhitespace(bytes, count: count, index: &index)
    }

    /// Moves a number on past '.', 'e' or 'E' when it may take one there; false when the number ends before `byte`.
    private mutating func numberGoesOn(_ byte: UInt8) -> Bool {
        if byte == UInt8(ascii: ".") && state != .numberFraction {
            state = .numberFractionStart
            return true
        }
        if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            state = .numberExponentStart
            return true
        }
        return false
    }

    private mutating func beginValue(_ byte: UInt8, at position: Int) throws(FHIRContentError) {
        let topLevel = depth == 0
        let resourceTypeValue = depth == 1 && memberIsResourceType
        switch byte {
        case UInt8(ascii: "{"):
            if topLevel { break }
            try requireString(resourceTypeValue, at: position)
            guard depth < FHIRJSONParser.maximumDepth else {
                throw syntaxError(position, "nested deeper than \(FHIRJSONParser.maximumDepth) levels")
            }
        case UInt8(ascii: "["), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "-"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            if topLevel { throw notAnObject(byte, at: position) }
            try requireString(resourceTypeValue, at: position)
            guard byte != UInt8(ascii: "[") || depth < FHIRJSONParser.maximumDepth else {
                throw syntaxError(position, "nested deeper than \(FHIRJSONParser.maximumDepth) levels")
            }
        case UInt8(ascii: "\""):
            if topLevel { throw notAnObject(byte, at: position) }
        default:
            throw syntaxError(position, "unexpected character")
        }
        switch byte {
        case UInt8(ascii: "{"):
            containerBits <<= 1
            depth += 1
            state = .memberNameOrEnd
        case UInt8(ascii: "["):
            containerBits = containerBits << 1 | 1
            depth += 1
            state = .arrayValueOrEnd
        case UInt8(ascii: "\""): beginString(at: position, role: resourceTypeValue ? .resourceTypeValue : .other)
        case UInt8(ascii: "t"): beginLiteral("true")
        case UInt8(ascii: "f"): beginLiteral("false")
        case UInt8(ascii: "n"): beginLiteral("null")
        case UInt8(ascii: "-"): state = .numberMinus
        case UInt8(ascii: "0"): state = .numberZero
        default: state = .numberInteger
        }
    }

    private func requireString(_ resourceTypeValue: Bool, at position: Int) throws(FHIRContentError) {
        if resourceTypeValue {
            throw FHIRContentError(element: "content.resourceType", offset: position, reason: "must be a string")
        }
    }

    private func notAnObject(_ byte: UInt8, at position: Int) -> FHIRContentError {
        let kind =
            switch byte {
            case UInt8(ascii: "["): "an array"
            case UInt8(ascii: "\""): "a string"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
            case UInt8(ascii: "n"): "null"
            default: "a number"
            }
        return FHIRContentError(
            element: "content", offset: position, reason: "a FHIR resource is a JSON object, not \(kind)")
    }

    private mutating func beginLiteral(_ word: StaticString) {
        literalWord = word
        literalIndex = 1
        state = .literal
    }

    @inline(__always)
    private var innermostIsObject: Bool { containerBits & 1 == 0 }

    /// A value ended; what may follow depends on the container it is in.
    @inline(__always)
    private mutating func endValue() {
        state = depth == 0 ? .done : .afterValue
    }

    @inline(__always)
    private mutating func closeContainer() {
        containerBits >>= 1
        depth -= 1
        endValue()
    }

    private mutating func closeObject(at position: Int) throws(FHIRContentError) {
        if depth == 1 && !sawResourceType {
            throw FHIRContentError(element: "content.resourceType", offset: position, reason: "required")
        }
        closeContainer()
    }

    // MARK: Strings

    @inline(__always)
    private mutating func beginString(at position: Int, role: StringRole) {
        stringRole = role
        if role == .topLevelName || role == .resourceTypeValue {
            kept.removeAll(keepingCapacity: true)
            keptOverflowed = false
        }
        stringStart = position
        state = .string
        runStart = position + 1
        runHasInvalidUTF8 = false
        utf8Needed = 0
    }

    /// Reads string bytes up to the end of the chunk, the closing quote or a backslash.
    private mutating func scanString(
        _ bytes: UnsafePointer<UInt8>, count: Int, index: inout Int
    ) throws(FHIRContentError) {
        let keeping = stringRole == .topLevelName || stringRole == .resourceTypeValue
        while index < count {
            if !keeping && utf8Needed == 0 {
                // Eight bytes at a time up to the first quote, backslash, control character or non-ASCII byte.
                while index + 8 <= count {
                    let special = Self.specialStringBytes(
                        UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self))
                    if special != 0 {
                        index += special.trailingZeroBitCount >> 3
                        break
                    }
                    index += 8
                }
                guard index < count else { return }
            }
            let byte = bytes[index]
            if utf8Needed == 0 && byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"")
                && byte != UInt8(ascii: "\\")
            {
                if keeping { try keep(byte) }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                try endRun()
                index += 1
                try endString(at: offset + index)
                return
            case UInt8(ascii: "\\"):
                try endRun()
                state = .escape
                index += 1
                return
            case 0x00..<0x20:
                throw syntaxError(offset + index, "control character in a string (write it escaped)")
            default:
                stepUTF8(byte)
                if keeping { try keep(byte) }
                index += 1
            }
        }
    }

    /// The bytes of `word` (eight string bytes, the first lowest) that end a run of plain string bytes: '"', '\\',
    /// a control character or a byte of a multi-byte UTF-8 sequence, as the high bit of each such byte. Only the
    /// lowest set bit is exact (a borrow may mark bytes after it), which is all the caller uses. The tests for
    /// "a byte below n" and "a byte equal to n" are the usual word-at-a-time ones.
    @inline(__always)
    private static func specialStringBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (word | control | quote | backslash) & highBits
    }

    /// Advances UTF-8 validation by one byte (Unicode's well-formed sequences: no overlong forms, surrogates or
    /// scalars above U+10FFFF).
    @inline(__always)
    private mutating func stepUTF8(_ byte: UInt8) {
        if utf8Needed > 0 {
            if byte >= utf8Low && byte <= utf8High {
                utf8Needed -= 1
                utf8Low = 0x80
                utf8High = 0xBF
            } else {
                runHasInvalidUTF8 = true
                utf8Needed = 0
            }
            return
        }
        switch byte {
        case 0x00..<0x80: return
        case 0xC2...0xDF: utf8Needed = 1
        case 0xE0:
            utf8Needed = 2
            utf8Low = 0xA0
        case 0xED:
            utf8Needed = 2
            utf8High = 0x9F
        case 0xE1...0xEF: utf8Needed = 2
        case 0xF0:
            utf8Needed = 3
            utf8Low = 0x90
        case 0xF1...0xF3: utf8Needed = 3
        case 0xF4:
            utf8Needed = 3
            utf8High = 0x8F
        default: runHasInvalidUTF8 = true
        }
    }

    /// A run of unescaped bytes ended (at a quote or a backslash): it must have been whole UTF-8.
    @inline(__always)
    private mutating func endRun() throws(FHIRContentError) {
        if utf8Needed == 0 && !runHasInvalidUTF8 { return }
        if utf8Needed > 0 {
            runHasInvalidUTF8 = true
            utf8Needed = 0
            utf8Low = 0x80
            utf8High = 0xBF
        }
        if runHasInvalidUTF8 { throw syntaxError(runStart, "invalid UTF-8 in a string") }
    }

    @inline(__always)
    private mutating func keep(_ byte: UInt8) throws(FHIRContentError) {
        switch stringRole {
        case .topLevelName:
            guard topLevelNameBytes + kept.count < Self.maximumTopLevelNameBytes else {
                throw FHIRContentError(
                    element: "content", offset: stringStart,
                    reason:
                        "its top-level members exceed \(Self.maximumTopLevelNameBytes) bytes of names; a FHIR resource has a few dozen elements"
                )
            }
            kept.append(byte)
        case .resourceTypeValue:
            if kept.count < Self.maximumResourceTypeBytes { kept.append(byte) } else { keptOverflowed = true }
        case .other, .nestedName: break
        }
    }

    private mutating func keep(_ scalar: Unicode.Scalar) throws(FHIRContentError) {
        guard stringRole == .topLevelName || stringRole == .resourceTypeValue else { return }
        for byte in UTF8.encode(scalar)! { try keep(byte) }
    }

    /// A string ended just before `position`.
    private mutating func endString(at position: Int) throws(FHIRContentError) {
        switch stringRole {
        case .other:
            endValue()
        case .nestedName:
            state = .colon
        case .topLevelName:
            let name = String(decoding: kept, as: UTF8.self)
            if topLevelNames.contains(name) { throw syntaxError(stringStart, "duplicate member \"\(name)\"") }
            guard topLevelNames.count < Self.maximumTopLevelMembers else {
                throw FHIRContentError(
                    element: "content", offset: stringStart,
                    reason:
                        "its top-level members exceed \(Self.maximumTopLevelMembers); a FHIR resource has a few dozen elements"
                )
            }
            topLevelNames.insert(name)
            topLevelNameBytes += kept.count
            memberIsResourceType = name == "resourceType"
            state = .colon
        case .resourceTypeValue:
            let value = String(decoding: kept, as: UTF8.self)
            guard !keptOverflowed, FHIRResourceTypes.r4.contains(value) else {
                let shown = keptOverflowed ? "\"\(value)…\"" : "\"\(value)\""
                throw FHIRContentError(
                    element: "content.resourceType", offset: stringStart,
                    reason: "\(shown) is not a FHIR R4 resource type")
            }
            sawResourceType = true
            resourceType = value
            endValue()
        }
    }

    private mutating func escape(_ byte: UInt8, at position: Int) throws(FHIRContentError) {
        let scalar: Unicode.Scalar
        switch byte {
        case UInt8(ascii: "\""): scalar = "\""
        case UInt8(ascii: "\\"): scalar = "\\"
        case UInt8(ascii: "/"): scalar = "/"
        case UInt8(ascii: "b"): scalar = "\u{08}"
        case UInt8(ascii: "f"): scalar = "\u{0C}"
        case UInt8(ascii: "n"): scalar = "\n"
        case UInt8(ascii: "r"): scalar = "\r"
        case UInt8(ascii: "t"): scalar = "\t"
        case UInt8(ascii: "u"):
            state = .unicodeEscape
            hexDigitsLeft = 4
            hexValue = 0
            highSurrogate = nil
            return
        default: throw syntaxError(position, "unknown escape")
        }
        try keep(scalar)
        resumeRun(at: position + 1)
    }

    private mutating func resumeRun(at position: Int) {
        state = .string
        runStart = position
        runHasInvalidUTF8 = false
    }

    private mutating func hexDigit(_ byte: UInt8, at position: Int) throws(FHIRContentError) {
        let digit: UInt32
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
        default: throw syntaxError(position, "expected 4 hex digits after \\u")
        }
        hexValue = hexValue << 4 | digit
        hexDigitsLeft -= 1
        guard hexDigitsLeft == 0 else { return }
        let after = position + 1
        if let high = highSurrogate {
            guard (0xDC00..<0xE000).contains(hexValue) else {
                throw syntaxError(after, "a high surrogate must be followed by a low one")
            }
            highSurrogate = nil
            try keep(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (hexValue - 0xDC00))!)
            resumeRun(at: after)
        } else if (0xD800..<0xDC00).contains(hexValue) {
            highSurrogate = hexValue
            state = .lowSurrogateBackslash
        } else {
            guard let scalar = Unicode.Scalar(hexValue) else { throw syntaxError(after, "a lone low surrogate") }
            try keep(scalar)
            resumeRun(at: after)
        }
    }

    // MARK: The end

    /// The content ended at `offset`: the value must be whole.
    private mutating func end() throws(FHIRContentError) {
        let end = offset
        switch state {
        case .done: return
        case .value, .arrayValueOrEnd: throw syntaxError(end, "unexpected end of text")
        case .memberNameOrEnd, .memberName: throw syntaxError(end, "expected a member name in quotes")
        case .colon: throw syntaxError(end, "expected ':' after a member name")
        case .afterValue: throw unclosedContainer(at: end)
        case .string, .escape: throw syntaxError(end, "unterminated string")
        case .unicodeEscape: throw syntaxError(end, "unterminated \\u escape")
        case .lowSurrogateBackslash: throw syntaxError(end, "a high surrogate must be followed by a low one")
        case .lowSurrogateU:
            throw syntaxError(lowSurrogateBackslashOffset, "a high surrogate must be followed by a low one")
        case .literal: throw syntaxError(end, "unexpected character")
        case .numberMinus: throw syntaxError(end, "expected a digit")
        case .numberFractionStart: throw syntaxError(end, "expected a digit after '.'")
        case .numberExponentStart, .numberExponentSign: throw syntaxError(end, "expected a digit in the exponent")
        case .numberZero, .numberInteger, .numberFraction, .numberExponent:
            // A number at the top level was refused as not an object, so this one is in a container.
            throw unclosedContainer(at: end)
        }
    }

    private func unclosedContainer(at end: Int) -> FHIRContentError {
        innermostIsObject
            ? syntaxError(end, "expected ',' or '}' in an object") : syntaxError(end, "expected ',' or ']' in an array")
    }
}
