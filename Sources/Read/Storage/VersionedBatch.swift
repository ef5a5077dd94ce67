import Core

/// A batch of versioned writes reduced to what one statement can take: at most one write per key.
/// `INSERT … ON CONFLICT DO UPDATE` may not touch a row twice, and only the highest version of a key could
/// win anyway, so that write is sent (the first of equal ones) and the others of its key report stale
/// against whatever the key holds afterwards — the state is the same as applying them one by one.
struct VersionedBatch<Key: Hashable> {
    /// Positions, in the caller's list, of the writes to send, in input order.
    let sent: [Int]
    /// For every input position, the position in `sent` of the write that speaks for its key.
    private let representative: [Int]
    private let versions: [Int]

    init(keys: [Key], versions: [Int]) {
        precondition(keys.count == versions.count, "VersionedBatch: \(keys.count) keys but \(versions.count) versions")
        var winner: [Key: Int] = [:]
        for (position, key) in keys.enumerated() {
            if let best = winner[key], versions[best] >= versions[position] { continue }
            winner[key] = position
        }
        let sent = (0..<keys.count).filter { winner[keys[$0]] == $0 }
        let slotOfPosition = Dictionary(uniqueKeysWithValues: sent.enumerated().map { ($1, $0) })
        self.sent = sent
        self.representative = keys.map { slotOfPosition[winner[$0]!]! }
        self.versions = versions
    }

    /// Outcomes for every input, in input order, from the outcomes of the sent writes (in `sent` order).
    func outcomes(_ sentOutcomes: [VersionedWriteOutcome]) -> [VersionedWriteOutcome] {
        representative.enumerated().map { position, slot in
            if sent[slot] == position { return sentOutcomes[slot] }
            switch sentOutcomes[slot] {
            case .applied: return .stale(currentVersion: versions[sent[slot]])
            case .stale(let current): return .stale(currentVersion: current)
            }
        }
    }
}
