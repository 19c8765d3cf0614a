// Names protoc derives from the names users write. Each mirrors a protoc function so descriptors and
// generated code agree with what protoc would produce.

/// Name derivations protoc applies: JSON names, map entry names, and the comparisons behind its proto3
/// uniqueness rules.
enum NameRules {
    /// protoc's `ToJsonName`: underscores removed, the letter after each one capitalized
    /// (`valid_until` -> `validUntil`, `_x` -> `X`).
    static func jsonName(_ name: String) -> String {
        var result = ""
        var capitalizeNext = false
        for character in name {
            if character == "_" {
                capitalizeNext = true
            } else if capitalizeNext {
                result += character.uppercased()
                capitalizeNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// protoc's `MapEntryName`: the field name in CamelCase plus `Entry` (`foo_bar` -> `FooBarEntry`).
    static func mapEntryName(_ fieldName: String) -> String {
        var result = ""
        var capitalizeNext = true
        for character in fieldName {
            if character == "_" {
                capitalizeNext = true
            } else if capitalizeNext {
                result += character.isASCII ? character.uppercased() : String(character)
                capitalizeNext = false
            } else {
                result.append(character)
            }
        }
        return result + "Entry"
    }

    /// The key under which proto3 requires field names to be unique (`foo_bar` and `fooBar` clash).
    static func lowercasedWithoutUnderscores(_ name: String) -> String {
        String(name.filter { $0 != "_" }.lowercased())
    }

    /// The key under which proto3 requires enum value names to be unique: the enum's name stripped as a
    /// prefix (ignoring case and underscores), then PascalCased, as protoc's `CheckEnumValueUniqueness`
    /// does, because code generators (ours included) strip that prefix.
    static func strippedEnumValueKey(_ valueName: String, enumName: String) -> String {
        pascalCased(removingPrefix(enumName, from: valueName))
    }

    private static func removingPrefix(_ enumName: String, from valueName: String) -> String {
        let prefix = Array(enumName.filter { $0 != "_" }.lowercased())
        let value = Array(valueName)
        var i = 0
        var j = 0
        while i < value.count && j < prefix.count {
            if value[i] == "_" {
                i += 1
                continue
            }
            if Character(value[i].lowercased()) != prefix[j] { return valueName }
            i += 1
            j += 1
        }
        if j < prefix.count { return valueName }
        while i < value.count && value[i] == "_" { i += 1 }
        if i == value.count { return valueName }
        return String(value[i...])
    }

    private static func pascalCased(_ name: String) -> String {
        var result = ""
        var upperNext = true
        for character in name {
            if character == "_" {
                upperNext = true
            } else {
                result += upperNext ? character.uppercased() : character.lowercased()
                upperNext = false
            }
        }
        return result
    }
}
