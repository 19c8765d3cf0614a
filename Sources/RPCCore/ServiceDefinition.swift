/// A service's name and the methods that serve it; generated `serviceDefinition`s build these.
public struct ServiceDefinition: Sendable {
    /// The fully-qualified service name, e.g. "healthledger.v1.Ledger".
    public let name: String
    /// The methods, each with a descriptor naming this service.
    public let methods: [ServerMethod]

    /// Groups `methods` under the service `name`.
    public init(name: String, methods: [ServerMethod]) {
        self.name = name
        self.methods = methods
    }
}
