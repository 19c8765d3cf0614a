/// Runs a whole generation in memory, so a failure never leaves half-written output behind.
public enum CodeGenerator {
    /// The Swift source of every file in `model.filesToGenerate`, keyed by output path relative to the output
    /// directory ("healthledger_v1_ledger.pb.swift").
    public static func generate(model: ProtoModel) -> [String: String] {
        let renderer = SwiftRenderer(model: model)
        var outputs: [String: String] = [:]
        for path in model.filesToGenerate where model.file(path) != nil {
            outputs[SwiftNaming.outputPath(for: path)] = renderer.render(file: path)
        }
        return outputs
    }
}
