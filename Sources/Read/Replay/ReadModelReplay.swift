import Core

/// Rebuilds the graph and the document read models from the event store's domain events (rule 11), with
/// the same `ReadModelChange`s the workers apply — so a replay ends where incremental processing did.
///
/// A full replay (no `from`) resets each database's spaces when it meets the database's creation, so it
/// fills empty models; a replay `from` a point applies on top of what is there (versioned writes make the
/// overlap harmless). Consecutive instance writes are batched: one graph call and one document call per
/// batch, a batch never holding one instance twice (its later version waits for the next batch).
public struct ReadModelReplay: Sendable {
    public struct Options: Sendable {
        public var database: String?
        public var from: EventStorePosition?
        public var batchSize = 500

        public init(database: String? = nil, from: EventStorePosition? = nil) {
            self.database = database
            self.from = from
        }
    }

    public struct Progress: Sendable {
        public var scanned = 0
        public var total = 0
        public var applied = 0
        public var stale = 0
        public var skipped = 0
        public var byType: [String: Int] = [:]
    }

    private let store: any EventStore
    private let graph: any GraphStore
    private let documents: any DocumentStore

    public init(store: any EventStore, graph: any GraphStore, documents: any DocumentStore) {
        self.store = store
        self.graph = graph
        self.documents = documents
    }

    /// How many log entries a replay from `from` will scan (a listing, no reads): the progress bar's total.
    public func count(from: EventStorePosition?) async throws -> Int {
        var total = 0
        var cursor = from
        while true {
            let page = try await store.positions(after: cursor, limit: 10_000)
            total += page.count
            guard page.count == 10_000, let last = page.last else { return total }
            cursor = last
        }
    }

    public func run(_ options: Options, report: @Sendable (Progress) -> Void) async throws -> Progress {
        var progress = Progress()
        progress.total = try await count(from: options.from)
        report(progress)
        var pending = PendingInstances()
        var cursor = options.from
        while true {
            let page = try await store.tail(after: cursor, limit: 1000)
            for (_, envelope) in page {
                progress.scanned += 1
                guard envelope.metadata.kind == .domain, DomainEventType(rawValue: envelope.eventType) != nil,
                      options.database == nil || envelope.data["database"]?.stringValue == options.database else {
                    progress.skipped += 1
                    continue
                }
                let change = try ReadModelChange(domainEvent: envelope)
                progress.byType[envelope.eventType, default: 0] += 1
                if let (database, ref) = pending.instanceKey(of: change) {
                    if pending.database != database || pending.refs.contains(ref) || pending.count >= options.batchSize {
                        try await flush(&pending, into: &progress)
                    }
                    pending.add(change, database: database, ref: ref)
                    continue
                }
                try await flush(&pending, into: &progress)
                if case .createDatabase(let database) = change, options.from == nil {
                    try await graph.dropDatabase(database)
                    try await documents.dropDatabase(database)
                }
                record(try await change.apply(to: graph), try await change.apply(to: documents), into: &progress)
            }
            report(progress)
            guard let last = page.last else { break }
            cursor = last.position
        }
        try await flush(&pending, into: &progress)
        report(progress)
        return progress
    }

    private func flush(_ pending: inout PendingInstances, into progress: inout Progress) async throws {
        guard let database = pending.database, pending.count > 0 else { return }
        let nodeOutcomes = pending.nodes.isEmpty ? [] : try await graph.upsertNodes(database, pending.nodes)
        let deleteOutcomes = pending.deletes.isEmpty ? [] : try await graph.deleteNodes(database, pending.deletes)
        let documentOutcomes = try await documents.put(database, pending.documents)
        for outcome in nodeOutcomes + deleteOutcomes + documentOutcomes {
            if case .stale = outcome { progress.stale += 1 } else { progress.applied += 1 }
        }
        pending = PendingInstances()
    }

    private func record(_ graphOutcome: VersionedWriteOutcome, _ documentOutcome: VersionedWriteOutcome,
                        into progress: inout Progress) {
        for outcome in [graphOutcome, documentOutcome] {
            if case .stale = outcome { progress.stale += 1 } else { progress.applied += 1 }
        }
    }
}

/// A batch of instance changes of one database, each instance at most once.
private struct PendingInstances {
    var database: String?
    var refs: Set<NodeRef> = []
    var nodes: [GraphNodeWrite] = []
    var deletes: [(ref: NodeRef, version: Int)] = []
    var documents: [InstanceDocument] = []

    var count: Int { refs.count }

    func instanceKey(of change: ReadModelChange) -> (String, NodeRef)? {
        switch change {
        case .putInstance(let database, let node, _): (database, node.node.ref)
        case .deleteInstance(let database, let ref, _): (database, ref)
        default: nil
        }
    }

    mutating func add(_ change: ReadModelChange, database: String, ref: NodeRef) {
        self.database = database
        refs.insert(ref)
        switch change {
        case .putInstance(_, let node, let document):
            nodes.append(node)
            documents.append(document)
        case .deleteInstance(_, let ref, let tombstone):
            deletes.append((ref, tombstone.version))
            documents.append(tombstone)
        default:
            break
        }
    }
}
