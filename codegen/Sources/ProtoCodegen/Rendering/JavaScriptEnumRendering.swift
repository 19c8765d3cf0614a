/// Proto3 enums as frozen objects of full value names to numbers, plus a `<Enum>_name` function. Enums are open:
/// fields hold any int32, and numbers this schema does not name survive decoding and re-encoding.
extension JavaScriptRenderer {
    /// Writes the enum object and its name function.
    func writeEnum(_ enumType: EnumType, scope: Scope, to writer: inout JavaScriptWriter) {
        let name = scope.name(enumType.fullName, types: types)
        writer.jsDoc(enumType.comments, tags: ["@readonly", "@enum {number}"])
        writer.line("export const \(name) = Object.freeze({")
        writer.indented { writer in
            var previousHadComment = false
            for value in enumType.values {
                let hasComment = value.comments != .none
                if hasComment && previousHadComment { writer.line() }
                writer.jsDoc(value.comments)
                writer.line("\(value.name): \(value.number),")
                previousHadComment = hasComment
            }
        }
        writer.line("});")
        writer.line()
        writer.jsDoc(
            extra: [
                "The name of a `\(name)` number (the first one declared for it), or the number as text "
                    + "when this schema does not know it."
            ],
            tags: ["@param {number} value", "@returns {string}"])
        writer.block("export function \(name)_name(value) {") { writer in
            writer.line("return $pb.enumName(\(name), value);")
        }
    }
}
