/// Proto3 enums: open Swift enums with an `UNRECOGNIZED` case, aliases as static constants.
extension SwiftRenderer {
    /// Writes the Swift enum for `enumType`.
    func writeEnum(_ enumType: EnumType, to writer: inout CodeWriter) {
        guard let entry = types.enumeration(enumType.fullName) else { return }
        // The first value with a number is its primary case; later values with the same number are aliases.
        var primaries: [EnumValue] = []
        var aliases: [(alias: EnumValue, primary: EnumValue)] = []
        var primaryByNumber: [Int32: EnumValue] = [:]
        for value in enumType.values {
            if let primary = primaryByNumber[value.number] {
                aliases.append((value, primary))
            } else {
                primaryByNumber[value.number] = value
                primaries.append(value)
            }
        }
        let caseName = { (value: EnumValue) in entry.caseNames[value.name] ?? SwiftNaming.lowerCamelCase(value.name) }

        writer.docComment(enumType.comments)
        writer.block("public enum \(entry.localName): ProtoEnum, CaseIterable {") { writer in
            var previousHadComment = false
            for value in primaries {
                let hasComment = value.comments != .none
                if hasComment || previousHadComment { writer.beginMember() }
                writer.docComment(value.comments)
                writer.line("case \(caseName(value))  // \(value.name) = \(value.number)")
                previousHadComment = hasComment
            }
            if previousHadComment { writer.beginMember() }
            writer.line("/// A number this version of the schema doesn't know, kept so it round-trips.")
            writer.line("case UNRECOGNIZED(Int32)")

            for (alias, primary) in aliases {
                writer.beginMember()
                writer.docComment(alias.comments, extra: ["`\(alias.name)`, an alias of `\(primary.name)`."])
                writer.line("public static let \(caseName(alias)) = Self\(SwiftNaming.dotted(caseName(primary)))")
            }

            writer.beginMember()
            writer.line("/// The values this version of the schema knows, aliases excluded.")
            writer.arrayLiteral(
                "public static let allCases: [Self] = ", primaries.map { SwiftNaming.dotted(caseName($0)) })

            writer.beginMember()
            writer.line("/// The case for `rawValue`; numbers without a case become `UNRECOGNIZED`.")
            writer.block("public init(rawValue: Int32) {") { writer in
                writer.line("switch rawValue {")
                for value in primaries {
                    writer.line("case \(value.number): self = \(SwiftNaming.dotted(caseName(value)))")
                }
                writer.line("default: self = .UNRECOGNIZED(rawValue)")
                writer.line("}")
            }

            writer.beginMember()
            writer.line("/// The number this value has on the wire.")
            writer.block("public var rawValue: Int32 {") { writer in
                writer.line("switch self {")
                for value in primaries {
                    writer.line("case \(SwiftNaming.dotted(caseName(value))): \(value.number)")
                }
                writer.line("case .UNRECOGNIZED(let number): number")
                writer.line("}")
            }
        }
    }
}
