import DashboardAssets
import HTTP2Transport
import ProtobufWire

/// The patient dashboard a node serves to browsers at "/" over its listener, beside the RPCs it calls over
/// gRPC-Web.
public enum DashboardFiles: Sendable {
    /// No dashboard: GET and HEAD get 405 as on any gRPC server.
    case disabled
    /// The copy of clients/web built into the binary (hashed and compressed once, at start-up).
    case embedded
    /// The files of a folder, read on every request, for working on the page without rebuilding the node.
    case directory(String)

    /// The static file source for this choice, or nil when disabled.
    public func source() -> (any StaticFileSource)? {
        switch self {
        case .disabled: nil
        case .embedded: Self.embeddedTable
        case .directory(let path): StaticFileDirectory(root: path)
        }
    }

    /// The embedded files, decoded once on first use.
    private static let embeddedTable: StaticFileTable = {
        var contents: [String: [UInt8]] = [:]
        for file in DashboardAssets.files { contents[file.path] = Base64.decode(file.base64) }
        return StaticFileTable(contents: contents)
    }()
}
