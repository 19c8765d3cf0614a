// healthledger-protoc: proto3 -> Swift and JavaScript for HealthLedger. See codegen/README.md.
import Foundation
import ProtoCodegen

/// Prints `message` to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("healthledger-protoc: \(error.message)\nRun 'healthledger-protoc --help' for usage.")
    exit(1)
}

if options.showHelp {
    print(CommandLineOptions.usage)
    exit(0)
}

/// Loads `options.files`, renders every requested output in memory and writes it; returns the exit status. A
/// function rather than top-level code so that the model is released before the process exits: in a model still
/// alive at exit LeakSanitizer cannot see the pointers to indirect enum payloads (Swift keeps the case in the
/// pointer's spare bits), and would report every field type as leaked.
func generate(_ options: CommandLineOptions) -> Int32 {
    let model: ProtoModel
    do {
        model = try ProtoLoader(includePaths: options.includePaths).load(files: options.files)
    } catch {
        for diagnostic in error.diagnostics {
            printError(diagnostic.description)
        }
        return 1
    }

    // Everything is rendered in memory before anything is written, so an error leaves no partial output.
    var output = OutputFiles()
    if let swiftOut = options.swiftOut {
        for (path, text) in CodeGenerator.generate(model: model) {
            output.contents[swiftOut + "/" + path] = Array(text.utf8)
        }
    }
    if let jsOut = options.jsOut {
        for (path, text) in CodeGenerator.generateJavaScript(model: model, runtimeDirectory: options.jsRuntime) {
            output.contents[jsOut + "/" + path] = Array(text.utf8)
        }
    }
    if let descriptorSetOut = options.descriptorSetOut {
        output.contents[descriptorSetOut] = DescriptorBuilder.fileDescriptorSet(
            for: model, files: model.filesToGenerate)
    }

    do {
        _ = try output.commit()
    } catch {
        printError("healthledger-protoc: \(error)")
        return 1
    }
    return 0
}

exit(generate(options))
