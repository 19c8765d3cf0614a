/// Finds where message types contain themselves, so the renderer can break those cycles.
///
/// A Swift struct cannot contain itself, not even through `Optional`. Arrays and dictionaries store their
/// elements on the heap, so only singular message fields and oneof cases can form a cycle. A oneof enum is
/// made `indirect` when one of its cases is on a cycle; every singular message field whose target is in the
/// same strongly connected component of the singular-field graph is stored in a `ProtoBox`.
struct RecursionAnalysis {
    /// Fields ("pkg.Message.field") stored in a `ProtoBox`.
    private(set) var boxedFields: Set<String> = []
    /// Oneofs ("pkg.Message.oneof") whose enum is `indirect`.
    private(set) var indirectOneofs: Set<String> = []

    /// Analyses every message of `model`.
    init(model: ProtoModel) {
        var messages: [MessageType] = []
        func collect(_ message: MessageType) {
            messages.append(message)
            message.nestedMessages.forEach(collect)
        }
        model.files.flatMap(\.messages).forEach(collect)

        var singularEdges: [String: [String]] = [:]
        var allEdges: [String: [String]] = [:]
        for message in messages {
            for field in message.fields {
                guard field.label == .optional, case .message(let target) = field.type else { continue }
                allEdges[message.fullName, default: []].append(target)
                if field.oneofIndex == nil {
                    singularEdges[message.fullName, default: []].append(target)
                }
            }
        }
        let names = messages.map(\.fullName)
        let singularComponents = Self.stronglyConnectedComponents(nodes: names, edges: singularEdges)
        let allComponents = Self.stronglyConnectedComponents(nodes: names, edges: allEdges)

        for message in messages {
            for field in message.fields {
                guard field.label == .optional, case .message(let target) = field.type else { continue }
                if let oneofIndex = field.oneofIndex {
                    if allComponents[message.fullName] == allComponents[target],
                        oneofIndex < message.oneofs.count
                    {
                        indirectOneofs.insert("\(message.fullName).\(message.oneofs[oneofIndex].name)")
                    }
                } else if singularComponents[message.fullName] == singularComponents[target] {
                    boxedFields.insert("\(message.fullName).\(field.name)")
                }
            }
        }
    }

    /// Whether `field` of `message` is stored boxed.
    func isBoxed(_ field: Field, in message: MessageType) -> Bool {
        boxedFields.contains("\(message.fullName).\(field.name)")
    }

    /// Whether the enum of `oneof` in `message` is `indirect`.
    func isIndirect(_ oneof: Oneof, in message: MessageType) -> Bool {
        indirectOneofs.contains("\(message.fullName).\(oneof.name)")
    }

    /// Tarjan's algorithm: maps each node to the index of its component. A node on no cycle gets a component
    /// of its own, which still matches itself, so self-references (`Node.child: Node`) count as cycles; a
    /// node without a self-edge in a singleton component never has an edge to compare against.
    private static func stronglyConnectedComponents(nodes: [String], edges: [String: [String]]) -> [String: Int] {
        var index: [String: Int] = [:]
        var lowLink: [String: Int] = [:]
        var onStack: Set<String> = []
        var stack: [String] = []
        var component: [String: Int] = [:]
        var nextIndex = 0
        var nextComponent = 0

        func visit(_ node: String) {
            index[node] = nextIndex
            lowLink[node] = nextIndex
            nextIndex += 1
            stack.append(node)
            onStack.insert(node)
            for target in edges[node, default: []] {
                if index[target] == nil {
                    visit(target)
                    lowLink[node] = min(lowLink[node]!, lowLink[target] ?? Int.max)
                } else if onStack.contains(target) {
                    lowLink[node] = min(lowLink[node]!, index[target]!)
                }
            }
            if lowLink[node] == index[node] {
                while let member = stack.popLast() {
                    onStack.remove(member)
                    component[member] = nextComponent
                    if member == node { break }
                }
                nextComponent += 1
            }
        }

        for node in nodes where index[node] == nil {
            visit(node)
        }
        return component
    }
}
