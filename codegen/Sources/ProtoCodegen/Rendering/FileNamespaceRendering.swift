import ProtobufWire

/// The per-file namespace enum holding the file's `ProtoFileDescriptor`.
extension SwiftRenderer {
    /// Characters of base64 text per source line in the generated descriptor literal.
    static let base64LineLength = 100

    /// Writes `<CamelPath>ProtoFile` with the serialized FileDescriptorProto, imports and message types.
    func writeFileNamespace(_ file: ProtoFile, to writer: inout CodeWriter) {
        let descriptor = DescriptorBuilder.fileDescriptorProto(for: file, in: model)
        let encoded = Base64.encode(descriptor)
        let messageTypes = Self.generatedMessages(of: file).compactMap { types.message($0.fullName)?.swiftName }

        writer.line("/// `\(file.path)`: its descriptor for server reflection and type registries.")
        writer.block("public enum \(SwiftNaming.fileNamespace(for: file.path)) {") { writer in
            writer.line("/// The file's `google.protobuf.FileDescriptorProto`, its imports and its message types.")
            writer.line("public static let descriptor = ProtoFileDescriptor(")
            writer.indented { writer in
                writer.line("path: \(Self.literal(file.path)),")
                // A multi-line literal whose line breaks are escaped: the text is one base64 string.
                writer.line("serializedDescriptor: Base64.decode(")
                writer.indented { writer in
                    writer.line("\"\"\"")
                    var rest = Substring(encoded)
                    while !rest.isEmpty {
                        let chunk = rest.prefix(Self.base64LineLength)
                        rest = rest.dropFirst(chunk.count)
                        writer.line(rest.isEmpty ? String(chunk) : chunk + "\\")
                    }
                    writer.line("\"\"\"")
                }
                writer.line("),")
                writer.arrayLiteral("dependencies: ", file.dependencies.map(Self.literal), ",")
                if messageTypes.isEmpty {
                    writer.line("messageTypes: []")
                } else {
                    writer.line("messageTypes: [")
                    writer.indented { writer in
                        for name in messageTypes { writer.line("\(name).self,") }
                    }
                    writer.line("]")
                }
            }
            writer.line(")")
        }
    }

    /// Every message of `file` that gets a Swift type, outer before nested, map entries left out.
    static func generatedMessages(of file: ProtoFile) -> [MessageType] {
        var result: [MessageType] = []
        func collect(_ message: MessageType) {
            guard !message.isMapEntry else { return }
            result.append(message)
            message.nestedMessages.forEach(collect)
        }
        file.messages.forEach(collect)
        return result
    }
}
