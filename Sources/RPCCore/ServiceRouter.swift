/// Finds the method serving a call's path among a server's services; transports route every call through it.
public struct ServiceRouter: Sendable {
    private let methodsByService: [String: [String: ServerMethod]]
    /// Every method by its full path: one hash lookup per call; `methodsByService` names what is unknown.
    private let methodsByPath: [String: ServerMethod]

    /// Indexes `services`, each method wrapped in `interceptors` (the first outermost; see `ServerInterceptor`).
    /// Two services with one name, two methods with one name, or a method whose descriptor names another
    /// service are programming errors and stop the process at startup.
    public init(services: [ServiceDefinition], interceptors: [any ServerInterceptor] = []) {
        var methodsByService: [String: [String: ServerMethod]] = [:]
        for service in services {
            precondition(methodsByService[service.name] == nil, "service \(service.name) is registered twice")
            var methods: [String: ServerMethod] = [:]
            for method in service.methods {
                precondition(
                    method.descriptor.service == service.name,
                    "method \(method.descriptor.path) is listed under service \(service.name)")
                precondition(
                    methods[method.descriptor.method] == nil, "method \(method.descriptor.path) is listed twice")
                methods[method.descriptor.method] = method.intercepted(by: interceptors)
            }
            methodsByService[service.name] = methods
        }
        self.methodsByService = methodsByService
        var methodsByPath: [String: ServerMethod] = [:]
        for methods in methodsByService.values {
            for method in methods.values { methodsByPath[method.descriptor.path] = method }
        }
        self.methodsByPath = methodsByPath
    }

    /// The names of the routed services, sorted (for server reflection's service list).
    public var serviceNames: [String] { methodsByService.keys.sorted() }

    /// The method serving `path` ("/healthledger.v1.Ledger/Grant"), or UNIMPLEMENTED naming what is unknown.
    public func method(forPath path: String) throws(RPCError) -> ServerMethod {
        if let method = methodsByPath[path] { return method }
        // PROTOCOL-HTTP2.md: Path -> ":path" "/" Service-Name "/" {method name}.
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            throw RPCError(.unimplemented, "unknown method \(path)")
        }
        guard let methods = methodsByService[String(parts[1])] else {
            throw RPCError(.unimplemented, "unknown service \(parts[1])")
        }
        guard let method = methods[String(parts[2])] else {
            throw RPCError(.unimplemented, "unknown method \(path)")
        }
        return method
    }
}
