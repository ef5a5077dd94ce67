import Core

/// `POST /api/v1/graph-query/{db}`'s body, checked: every field within its bounds, or a 400 naming it.
/// Compatible with the Python original's request; its defaults are kept, its silent clamps are errors.
public struct GraphQueryRequest: Sendable, Equatable {
    public struct Hop: Sendable, Equatable {
        public var predicate: String
        public var targetClass: String?
        public var reverse: Bool
        /// Conditions on the nodes this hop reaches (same syntax as the start filters).
        public var filters: [String: JSONValue]
    }

    /// The most a request may ask for; over these is a 400, not a silent clamp.
    public enum Bounds {
        public static let maxHops = 10
        public static let maxLimit = 1000
        public static let maxOffset = 1_000_000
        public static let maxNodes = 10_000
        public static let maxEdges = 50_000
        public static let maxPaths = 2000
    }

    public var startClass: String
    public var hops: [Hop] = []
    public var filters: [String: JSONValue] = [:]
    public var limit = 100
    public var offset = 0
    public var maxNodes = 500
    public var maxEdges = 2000
    public var includePaths = false
    public var maxPaths = 100
    public var pathDepthLimit: Int?
    public var noCycles = false
    public var includeDocuments = true
    public var includeProvenance = false
    public var branch = "main"

    public init(startClass: String) { self.startClass = startClass }

    private static let knownKeys: Set<String> = [
        "start_class", "hops", "filters", "limit", "offset", "max_nodes", "max_edges", "include_paths", "max_paths",
        "path_depth_limit", "no_cycles", "include_documents", "include_provenance", "include_audit", "branch",
    ]

    public init(json body: [String: JSONValue], branchParameter: String?) throws(Problem) {
        for key in body.keys where !Self.knownKeys.contains(key) {
            throw .badRequest("unknown field '\(key)'", field: "body.\(key)")
        }
        guard let start = body["start_class"]?.stringValue, !start.isEmpty else {
            throw .badRequest("start_class is required: the class the traversal starts from", field: "body.start_class")
        }
        startClass = start
        filters = try Self.object(body["filters"], field: "body.filters")
        limit = try Self.int(body["limit"], field: "body.limit", in: 1...Bounds.maxLimit, default: limit)
        offset = try Self.int(body["offset"], field: "body.offset", in: 0...Bounds.maxOffset, default: offset)
        maxNodes = try Self.int(body["max_nodes"], field: "body.max_nodes", in: 1...Bounds.maxNodes, default: maxNodes)
        maxEdges = try Self.int(body["max_edges"], field: "body.max_edges", in: 0...Bounds.maxEdges, default: maxEdges)
        maxPaths = try Self.int(body["max_paths"], field: "body.max_paths", in: 1...Bounds.maxPaths, default: maxPaths)
        if let depth = body["path_depth_limit"], depth != .null {
            pathDepthLimit = try Self.int(depth, field: "body.path_depth_limit", in: 1...Bounds.maxHops, default: 0)
        }
        includePaths = try Self.bool(body["include_paths"], field: "body.include_paths", default: includePaths)
        noCycles = try Self.bool(body["no_cycles"], field: "body.no_cycles", default: noCycles)
        includeDocuments = try Self.bool(body["include_documents"], field: "body.include_documents", default: includeDocuments)
        includeProvenance = try Self.bool(body["include_provenance"], field: "body.include_provenance", default: includeProvenance)
        if try Self.bool(body["include_audit"], field: "body.include_audit", default: false) {
            throw .badRequest("include_audit is not supported: command history is at /api/v1/commands/{id}/status",
                              field: "body.include_audit")
        }
        let branch = try Self.string(body["branch"], field: "body.branch") ?? branchParameter ?? "main"
        guard branch == "main" else {
            throw Problem(status: 400, code: "branch_not_supported",
                          detail: "branch '\(branch)': only 'main' exists (branches are not supported yet)", field: "body.branch")
        }
        self.branch = branch
        hops = try Self.hops(body["hops"])
    }

    private static func hops(_ value: JSONValue?) throws(Problem) -> [Hop] {
        guard let value, value != .null else { return [] }
        guard let items = value.arrayValue else { throw .badRequest("hops must be an array", field: "body.hops") }
        guard items.count <= Bounds.maxHops else {
            throw .badRequest("at most \(Bounds.maxHops) hops (got \(items.count))", field: "body.hops")
        }
        var hops: [Hop] = []
        for (index, item) in items.enumerated() {
            let field = "body.hops[\(index)]"
            guard let object = item.objectValue else { throw .badRequest("each hop must be an object", field: field) }
            for key in object.keys where !["predicate", "target_class", "reverse", "filters"].contains(key) {
                throw .badRequest("unknown field '\(key)' in a hop", field: "\(field).\(key)")
            }
            guard let predicate = object["predicate"]?.stringValue, !predicate.isEmpty else {
                throw .badRequest("predicate is required", field: "\(field).predicate")
            }
            let target = try string(object["target_class"], field: "\(field).target_class")
            hops.append(Hop(predicate: predicate, targetClass: target?.isEmpty == true ? nil : target,
                            reverse: try bool(object["reverse"], field: "\(field).reverse", default: false),
                            filters: try self.object(object["filters"], field: "\(field).filters")))
        }
        return hops
    }

    // MARK: Field readers

    private static func int(_ value: JSONValue?, field: String, in range: ClosedRange<Int>, default fallback: Int) throws(Problem) -> Int {
        guard let value, value != .null else { return fallback }
        guard let number = value.intValue, range.contains(number) else {
            throw .badRequest("\(field.split(separator: ".").last ?? "") must be an integer from \(range.lowerBound) to \(range.upperBound)",
                              field: field)
        }
        return number
    }

    private static func bool(_ value: JSONValue?, field: String, default fallback: Bool) throws(Problem) -> Bool {
        guard let value, value != .null else { return fallback }
        guard let flag = value.boolValue else { throw .badRequest("must be true or false", field: field) }
        return flag
    }

    private static func string(_ value: JSONValue?, field: String) throws(Problem) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue else { throw .badRequest("must be a string", field: field) }
        return text
    }

    private static func object(_ value: JSONValue?, field: String) throws(Problem) -> [String: JSONValue] {
        guard let value, value != .null else { return [:] }
        guard let object = value.objectValue else { throw .badRequest("must be an object of field conditions", field: field) }
        return object
    }

    /// The request as understood, defaults filled in, echoed in the response.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "start_class": .string(startClass), "filters": .object(filters), "limit": .number(Double(limit)),
            "offset": .number(Double(offset)), "max_nodes": .number(Double(maxNodes)), "max_edges": .number(Double(maxEdges)),
            "include_paths": .bool(includePaths), "max_paths": .number(Double(maxPaths)), "no_cycles": .bool(noCycles),
            "include_documents": .bool(includeDocuments), "include_provenance": .bool(includeProvenance), "branch": .string(branch),
            "hops": .array(hops.map { hop in
                var object: [String: JSONValue] = ["predicate": .string(hop.predicate), "reverse": .bool(hop.reverse)]
                object["target_class"] = hop.targetClass.map(JSONValue.string) ?? .null
                if !hop.filters.isEmpty { object["filters"] = .object(hop.filters) }
                return .object(object)
            }),
        ]
        object["path_depth_limit"] = pathDepthLimit.map { .number(Double($0)) } ?? .null
        return .object(object)
    }
}
