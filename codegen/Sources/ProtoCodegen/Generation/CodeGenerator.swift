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

    /// The ES module of every file in `model.filesToGenerate`, keyed by output path relative to the output
    /// directory ("healthledger/v1/ledger.js"); `runtimeDirectory` overrides where the runtime is imported from.
    public static func generateJavaScript(model: ProtoModel, runtimeDirectory: String? = nil) -> [String: String] {
        let renderer = JavaScriptRenderer(model: model, runtimeDirectory: runtimeDirectory)
        var outputs: [String: String] = [:]
        for path in model.filesToGenerate where model.file(path) != nil {
            outputs[JavaScriptNaming.outputPath(for: path)] = renderer.render(file: path)
        }
        return outputs
    }
}
