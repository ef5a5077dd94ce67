import Core

/// How a route's handler runs. Inline handlers run on the event loop that read the request, so
/// trivial routes (health, metrics) pay no thread hop; they must not block or suspend.
/// Async handlers run on Swift's cooperative pool and their response is handed back to the loop.
public enum Handler: Sendable {
    case inline(@Sendable (Request) throws -> Response)
    case async(@Sendable (Request) async throws -> Response)
}

public struct Route: Sendable {
    public let method: String
    /// The pattern as registered ("/api/v1/commands/{id}/status"): the metrics and log label.
    public let pattern: String
    public let handler: Handler
    /// Overrides the server's request timeout for routes that legitimately wait (sync commands wait up to 300 s).
    public let timeoutMs: UInt64?
}

/// Maps method + path to a route. Literal segments win over `{parameter}` segments; a path that
/// matches only under other methods is a 405 with `Allow`, not a 404.
public struct Router: Sendable {
    public enum Match {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private final class Node: @unchecked Sendable {
        var literals: [String: Node] = [:]
        var parameter: (name: String, node: Node)?
        var routes: [String: Route] = [:]
    }

    private let root = Node()
    /// Routes without parameters, by exact path: most requests resolve with one hash lookup.
    private let staticPaths = StaticPathTable()

    private final class StaticPathTable: @unchecked Sendable {
        var nodes: [String: Node] = [:]
    }

    public init() {}

    public func add(_ method: String, _ pattern: String, _ handler: Handler, timeoutMs: UInt64? = nil) {
        var node = root
        for segment in Self.segments(pattern) {
            if segment.hasPrefix("{"), segment.hasSuffix("}") {
                let name = String(segment.dropFirst().dropLast())
                if let existing = node.parameter {
                    precondition(existing.name == name, "conflicting parameter names at \(pattern)")
                    node = existing.node
                } else {
                    let child = Node()
                    node.parameter = (name, child)
                    node = child
                }
            } else if let child = node.literals[String(segment)] {
                node = child
            } else {
                let child = Node()
                node.literals[String(segment)] = child
                node = child
            }
        }
        precondition(node.routes[method] == nil, "duplicate route \(method) \(pattern)")
        node.routes[method] = Route(method: method, pattern: pattern, handler: handler, timeoutMs: timeoutMs)
        if !pattern.contains("{") { staticPaths.nodes[Self.normalized(pattern)] = node }
    }

    public func get(_ pattern: String, _ handler: Handler, timeoutMs: UInt64? = nil) { add("GET", pattern, handler, timeoutMs: timeoutMs) }
    public func post(_ pattern: String, _ handler: Handler, timeoutMs: UInt64? = nil) { add("POST", pattern, handler, timeoutMs: timeoutMs) }
    public func put(_ pattern: String, _ handler: Handler, timeoutMs: UInt64? = nil) { add("PUT", pattern, handler, timeoutMs: timeoutMs) }
    public func delete(_ pattern: String, _ handler: Handler, timeoutMs: UInt64? = nil) { add("DELETE", pattern, handler, timeoutMs: timeoutMs) }

    public func match(method: String, path: String) -> Match {
        var parameters: [String: String] = [:]
        let staticNode = staticPaths.nodes[path]
        guard let node = staticNode ?? find(root, Self.segments(path)[...], &parameters) else { return .notFound }
        if let route = node.routes[method] {
            return .found(route, parameters: parameters)
        }
        if method == "HEAD", let route = node.routes["GET"] {
            return .found(route, parameters: parameters)
        }
        var allowed = Set(node.routes.keys)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        allowed.insert("OPTIONS")
        return .methodNotAllowed(allowed: allowed.sorted())
    }

    private func find(_ node: Node, _ rest: ArraySlice<Substring>, _ parameters: inout [String: String]) -> Node? {
        guard let segment = rest.first else { return node.routes.isEmpty ? nil : node }
        if let child = node.literals[String(segment)], let found = find(child, rest.dropFirst(), &parameters) {
            return found
        }
        if let (name, child) = node.parameter, !segment.isEmpty {
            if let found = find(child, rest.dropFirst(), &parameters) {
                parameters[name] = PercentDecoding.decode(String(segment))
                return found
            }
        }
        return nil
    }

    private static func normalized(_ pattern: String) -> String {
        "/" + segments(pattern).joined(separator: "/")
    }

    /// "/a/b/" and "/a/b" are the same route; empty inner segments ("/a//b") are kept so they never match.
    private static func segments(_ path: String) -> [Substring] {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.first == "" { parts.removeFirst() }
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}
