// The checks that need only the syntax tree of one file: field numbers, reserved numbers and names,
// labels proto3 forbids, enum rules, and option names and values. Type-dependent checks live in the
// Resolver and name clashes in the SymbolTable. Messages follow what protoc checks, in plain words.

/// Checks one parsed file against the proto3 rules.
struct Validator {
    /// The largest field number (2^29 - 1).
    static let maxFieldNumber = 536_870_911
    /// Field numbers the protobuf implementation keeps for itself.
    static let implementationReserved = 19_000...19_999

    private var diagnostics: [Diagnostic] = []

    /// Every problem found in `file`.
    static func validate(_ file: FileSyntax) -> [Diagnostic] {
        var validator = Validator()
        let package = file.package?.value ?? ""
        validator.check(file.options, at: .file)
        for message in file.messages { validator.check(message, scope: package) }
        for enumeration in file.enums { validator.check(enumeration) }
        for service in file.services {
            validator.check(service.options, at: .service)
            for method in service.methods { validator.check(method.options, at: .method) }
        }
        return validator.diagnostics
    }

    private mutating func report(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(location: location, message: message))
    }

    // MARK: - Messages

    private mutating func check(_ message: MessageSyntax, scope: String) {
        let fullName = SymbolTable.join(scope, message.name.value)
        check(message.options, at: .message)
        for option in message.options where option.builtInName == "map_entry" {
            report(option.location, "option 'map_entry' must not be set by hand; declare a map<K, V> field instead")
        }
        let reservedRanges = message.reserved.flatMap(\.ranges)
        let reservedNames = Set(message.reserved.flatMap(\.names).map(\.value))
        checkReservedRanges(reservedRanges, bounds: 1...Int64(Validator.maxFieldNumber), what: "field numbers go from 1 to 536870911")

        var numbers: [Int64: String] = [:]
        var namesByKey: [String: String] = [:]
        let oneofs = message.oneofs
        for (field, oneofIndex) in message.allFields {
            let name = field.name.value
            let number = field.number.value
            if number < 1 || number > Validator.maxFieldNumber {
                report(field.number.location, "field number \(number) of '\(name)' is out of range: field numbers go from 1 to 536870911")
            } else if Validator.implementationReserved.contains(Int(number)) {
                report(
                    field.number.location,
                    "field number \(number) of '\(name)' is in the range 19000 to 19999, which is reserved for the protocol buffer implementation")
            }
            if let other = numbers[number] {
                report(field.number.location, "field number \(number) of '\(name)' is already used by field '\(other)' in message '\(fullName)'")
            } else {
                numbers[number] = name
            }
            if reservedRanges.contains(where: { $0.contains(number, max: Int64(Validator.maxFieldNumber)) }) {
                report(field.number.location, "field '\(name)' uses number \(number), which message '\(fullName)' reserves")
            }
            if reservedNames.contains(name) {
                report(field.name.location, "field name '\(name)' is reserved in message '\(fullName)'")
            }
            let key = NameRules.lowercasedWithoutUnderscores(name)
            if let other = namesByKey[key] {
                if other != name {
                    report(
                        field.name.location,
                        "field name '\(name)' conflicts with field '\(other)' in message '\(fullName)': proto3 requires field "
                            + "names to differ after lowercasing and removing underscores, or their JSON names would clash")
                }
            } else {
                namesByKey[key] = name
            }
            check(field, oneof: oneofIndex.map { oneofs[$0].name.value })
        }
        for oneof in oneofs {
            check(oneof.options, at: .oneof)
            if oneof.fields.isEmpty { report(oneof.name.location, "oneof '\(oneof.name.value)' must have at least one field") }
        }
        for member in message.members {
            switch member {
            case .message(let nested): check(nested, scope: fullName)
            case .enumeration(let nested): check(nested)
            case .extensionRange(let location): report(location, "extension ranges are not allowed in proto3")
            default: break
            }
        }
    }

    /// Labels and options of one field.
    private mutating func check(_ field: FieldSyntax, oneof: String?) {
        let name = field.name.value
        check(field.options, at: .field)
        for option in field.options where option.builtInName == "default" {
            report(option.location, "explicit default values are not allowed in proto3")
        }
        if let label = field.label {
            if let oneof {
                report(label.location, "field '\(name)' in oneof '\(oneof)' must not have a label ('\(label.value.rawValue)')")
            } else if field.isMap {
                report(label.location, "map field '\(name)' must not have a label ('\(label.value.rawValue)'): map fields are already repeated")
            } else if label.value == .required {
                report(label.location, "required fields are not allowed in proto3")
            }
        }
        if field.isMap, let oneof {
            report(field.start, "map field '\(name)' is not allowed in oneof '\(oneof)'")
        }
    }

    // MARK: - Enums

    private mutating func check(_ enumeration: EnumSyntax) {
        let name = enumeration.name.value
        check(enumeration.options, at: .enumeration)
        let reservedRanges = enumeration.reserved.flatMap(\.ranges)
        let reservedNames = Set(enumeration.reserved.flatMap(\.names).map(\.value))
        checkReservedRanges(reservedRanges, bounds: Int64(Int32.min)...Int64(Int32.max), what: "enum numbers are int32")

        guard let first = enumeration.values.first else {
            report(enumeration.name.location, "enum '\(name)' must have at least one value")
            return
        }
        if first.number.value != 0 {
            report(
                first.number.location,
                "the first value of enum '\(name)' must be zero in proto3, but '\(first.name.value)' is \(first.number.value)")
        }
        let allowAlias = enumeration.options.first { $0.builtInName == "allow_alias" }
        var numbers: [Int64: String] = [:]
        var strippedNames: [String: EnumValueSyntax] = [:]
        var hasAlias = false
        for value in enumeration.values {
            let valueName = value.name.value
            let number = value.number.value
            check(value.options, at: .enumValue)
            if number < Int64(Int32.min) || number > Int64(Int32.max) {
                report(value.number.location, "number \(number) of enum value '\(valueName)' is out of range for int32")
            }
            if let other = numbers[number] {
                hasAlias = true
                if allowAlias?.boolValue != true {
                    report(
                        value.number.location,
                        "enum value '\(valueName)' uses number \(number), which '\(other)' already uses; set "
                            + "'option allow_alias = true;' in enum '\(name)' if it is meant as an alias")
                }
            } else {
                numbers[number] = valueName
            }
            if reservedRanges.contains(where: { $0.contains(number, max: Int64(Int32.max)) }) {
                report(value.number.location, "enum value '\(valueName)' uses number \(number), which enum '\(name)' reserves")
            }
            if reservedNames.contains(valueName) {
                report(value.name.location, "enum value name '\(valueName)' is reserved in enum '\(name)'")
            }
            let key = NameRules.strippedEnumValueKey(valueName, enumName: name)
            if let other = strippedNames[key] {
                if other.name.value != valueName && other.number.value != number {
                    report(
                        value.name.location,
                        "enum value '\(valueName)' clashes with '\(other.name.value)' once the enum name prefix is "
                            + "stripped and case is ignored (both become '\(key)'); rename one, or give both the same number to make an alias")
                }
            } else {
                strippedNames[key] = value
            }
        }
        if let allowAlias, allowAlias.boolValue == true, !hasAlias {
            report(allowAlias.location, "enum '\(name)' sets allow_alias, but no two of its values share a number")
        }
    }

    // MARK: - Reserved ranges

    private mutating func checkReservedRanges(_ ranges: [NumberRangeSyntax], bounds: ClosedRange<Int64>, what: String) {
        var accepted: [NumberRangeSyntax] = []
        for range in ranges {
            let end = range.end ?? bounds.upperBound
            if !bounds.contains(range.start) || !bounds.contains(end) {
                let number = bounds.contains(range.start) ? end : range.start
                report(range.location, "reserved number \(number) is out of range: \(what)")
                continue
            }
            if range.start > end {
                report(range.location, "reserved range \(range.start) to \(end) ends before it starts")
                continue
            }
            if let other = accepted.first(where: { $0.start <= end && range.start <= ($0.end ?? bounds.upperBound) }) {
                report(range.location, "reserved range \(range.written) overlaps with reserved range \(other.written)")
            }
            accepted.append(range)
        }
    }

    // MARK: - Options

    /// Built-in option names must exist at this site and take the right kind of constant; no option may be
    /// set twice. Custom `(...)` options are not checked further.
    private mutating func check(_ options: [OptionSyntax], at site: OptionSite) {
        let known = BuiltInOptions.options(for: site)
        var seen: Set<String> = []
        for option in options {
            let name = option.nameText
            if !seen.insert(name).inserted {
                report(option.location, "option '\(name)' is set more than once")
            }
            guard let builtIn = option.builtInName else { continue }
            guard let kind = known[builtIn] else {
                report(
                    option.location,
                    "unknown \(site.rawValue) option '\(builtIn)'; custom options are written in parentheses, like '(my.option)'")
                continue
            }
            let found = option.writtenValue
            switch kind {
            case .bool where option.boolValue == nil:
                report(option.valueLocation, "option '\(builtIn)' must be true or false, found \(found)")
            case .string where option.stringValue == nil:
                report(option.valueLocation, "option '\(builtIn)' must be a string, found \(found)")
            case .enumeration(let names):
                if case .identifier(let value) = option.value, names.contains(value) { break }
                report(option.valueLocation, "option '\(builtIn)' must be one of \(names.joined(separator: ", ")), found \(found)")
            default:
                break
            }
        }
    }
}

extension NumberRangeSyntax {
    /// Whether `number` lies in this range (`max` meaning `max`).
    fileprivate func contains(_ number: Int64, max: Int64) -> Bool {
        start <= number && number <= (end ?? max)
    }

    /// The range as written: `5`, `5 to 9` or `5 to max`.
    fileprivate var written: String {
        guard let end else { return "\(start) to max" }
        return end == start ? "\(start)" : "\(start) to \(end)"
    }
}

extension OptionSyntax {
    /// The value as error messages quote it.
    fileprivate var writtenValue: String {
        switch value {
        case .string: "string \"\(valueText)\""
        case .aggregate: "a message value"
        default: "'\(valueText)'"
        }
    }
}
