import Core

/// Reads envelopes through the indexes, checking that what an index names is what is stored. Anything
/// unreadable or inconsistent is `.corrupt` with the key that is wrong — never a crash, never skipped.
struct StoreReader: Sendable {
    let files: StoreFiles

    /// The envelope key an index object names; nil when the index object does not exist.
    func indexedEventKey(_ indexKey: String) throws(EventStoreError) -> String? {
        guard let bytes = try files.read(indexKey) else { return nil }
        let body: JSONValue
        do { body = try JSONParser.parse(bytes) } catch {
            throw .corrupt(key: indexKey, reason: "invalid JSON: \(error.detail ?? error.title)")
        }
        guard let eventKey = body["s3_key"]?.stringValue else {
            throw .corrupt(key: indexKey, reason: "index body has no s3_key")
        }
        guard EventStoreKeys.isEventKey(eventKey) else {
            throw .corrupt(key: indexKey, reason: "s3_key \(eventKey) is not an event key")
        }
        return eventKey
    }

    /// The envelope stored at `eventKey`, or nil when there is none.
    func storedEnvelope(at eventKey: String) throws(EventStoreError) -> EventEnvelope? {
        guard let bytes = try files.read(eventKey) else { return nil }
        let envelope: EventEnvelope
        do { envelope = try EventEnvelope(bytes: bytes) } catch {
            throw .corrupt(key: eventKey, reason: "not a valid event envelope: \(error.detail ?? error.title)")
        }
        guard EventStoreKeys.eventKey(for: envelope) == eventKey else {
            throw .corrupt(key: eventKey, reason: "holds event \(envelope.eventId), whose key is \(EventStoreKeys.eventKey(for: envelope))")
        }
        return envelope
    }

    /// The envelope an index object names; nil when the index object does not exist. The envelope must
    /// exist and carry `expectedEventId`.
    func envelope(viaIndex indexKey: String, expectedEventId: String) throws(EventStoreError) -> EventEnvelope? {
        guard let eventKey = try indexedEventKey(indexKey) else { return nil }
        guard let envelope = try storedEnvelope(at: eventKey) else {
            throw .corrupt(key: indexKey, reason: "names \(eventKey), which does not exist")
        }
        guard envelope.eventId == expectedEventId else {
            throw .corrupt(key: indexKey, reason: "names event \(envelope.eventId), expected \(expectedEventId)")
        }
        return envelope
    }

    func event(id: String) throws(EventStoreError) -> EventEnvelope? {
        guard let eventId = EventID.canonicalize(id) else { return nil }
        return try envelope(viaIndex: EventStoreKeys.byEventIdKey(eventId: eventId), expectedEventId: eventId)
    }

    func events(aggregateType: String, aggregateId: String, fromSequence: Int) throws(EventStoreError) -> [EventEnvelope] {
        guard !aggregateType.isEmpty, !aggregateId.isEmpty else { return [] }
        let directory = EventStoreKeys.byAggregateDirectory(aggregateType: aggregateType, aggregateId: aggregateId)
        var entries: [(sequence: Int, name: String, eventId: String)] = []
        for name in try files.list(directory) {
            guard let parsed = EventStoreKeys.parseByAggregateName(name) else {
                throw .corrupt(key: directory + name, reason: "not a by-aggregate index name")
            }
            if parsed.sequence >= fromSequence { entries.append((parsed.sequence, name, parsed.eventId)) }
        }
        // Names are zero-padded, so byte order (the listing's order) is sequence order.
        var result: [EventEnvelope] = []
        result.reserveCapacity(entries.count)
        for entry in entries {
            let key = directory + entry.name
            guard let envelope = try envelope(viaIndex: key, expectedEventId: entry.eventId) else {
                throw .corrupt(key: key, reason: "listed but unreadable")
            }
            guard envelope.sequenceNumber == entry.sequence, envelope.aggregateType == aggregateType,
                  envelope.aggregateId == aggregateId else {
                throw .corrupt(key: key, reason: "names an envelope of another aggregate or sequence number")
            }
            result.append(envelope)
        }
        return result
    }

    /// Up to `limit` by-date index keys strictly after `position`, in key order, from directory listings
    /// only (no object is read): what a tailer's look-back compares against what it has published.
    func positions(after position: EventStorePosition?, limit: Int) throws(EventStoreError) -> [EventStorePosition] {
        guard limit > 0 else { return [] }
        let after = position?.key
        // The (yyyy, mm, dd) of the position, to skip whole directories before it.
        var afterDay: [String] = []
        if let after, after.hasPrefix(EventStoreKeys.byDatePrefix) {
            afterDay = after.dropFirst(EventStoreKeys.byDatePrefix.count).split(separator: "/").prefix(3).map(String.init)
        }
        func before(_ parts: [String]) -> Bool {
            // True when the directory `parts` lies entirely before the position's day.
            let n = min(parts.count, afterDay.count)
            guard n > 0 else { return false }
            return Array(parts.prefix(n)).lexicographicallyPrecedes(Array(afterDay.prefix(n))) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
        var result: [EventStorePosition] = []
        let root = EventStoreKeys.byDatePrefix
        for year in try files.list(root) {
            try checkDateSegment(year, width: 4, key: root + year)
            if before([year]) { continue }
            for month in try files.list(root + year + "/") {
                try checkDateSegment(month, width: 2, key: root + year + "/" + month)
                if before([year, month]) { continue }
                for day in try files.list(root + year + "/" + month + "/") {
                    try checkDateSegment(day, width: 2, key: root + year + "/" + month + "/" + day)
                    if before([year, month, day]) { continue }
                    let directory = root + year + "/" + month + "/" + day + "/"
                    for name in try files.list(directory) {
                        let key = directory + name
                        if let after, !after.utf8.lexicographicallyPrecedes(key.utf8) { continue }
                        result.append(EventStorePosition(key: key))
                        if result.count == limit { return result }
                    }
                }
            }
        }
        return result
    }

    /// The greatest by-date key in the store (nil when it has none): the last name of the last day.
    func newestByDateKey() throws(EventStoreError) -> String? {
        let root = EventStoreKeys.byDatePrefix
        for year in try files.list(root).reversed() {
            for month in try files.list(root + year + "/").reversed() {
                for day in try files.list(root + year + "/" + month + "/").reversed() {
                    let directory = root + year + "/" + month + "/" + day + "/"
                    if let last = try files.list(directory).last { return directory + last }
                }
            }
        }
        return nil
    }

    /// The envelope a by-date index entry names, checked against the entry's name.
    func envelope(at position: EventStorePosition) throws(EventStoreError) -> EventEnvelope {
        let key = position.key
        let name = String(key[key.index(after: key.lastIndex(of: "/") ?? key.startIndex)...])
        guard let parsed = EventStoreKeys.parseByDateName(name) else {
            throw .corrupt(key: key, reason: "not a by-date index name")
        }
        guard let envelope = try envelope(viaIndex: key, expectedEventId: parsed.eventId) else {
            throw .corrupt(key: key, reason: "listed but unreadable")
        }
        guard envelope.occurredAtMilliseconds == parsed.milliseconds, EventStoreKeys.byDateKey(for: envelope) == key else {
            throw .corrupt(key: key, reason: "names an envelope with another occurred_at")
        }
        return envelope
    }

    func tail(after position: EventStorePosition?, limit: Int) throws(EventStoreError) -> [(position: EventStorePosition, envelope: EventEnvelope)] {
        var result: [(position: EventStorePosition, envelope: EventEnvelope)] = []
        for entry in try positions(after: position, limit: limit) {
            result.append((entry, try envelope(at: entry)))
        }
        return result
    }

    private func checkDateSegment(_ segment: String, width: Int, key: String) throws(EventStoreError) {
        guard segment.utf8.count == width, segment.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .corrupt(key: key, reason: "not a by-date directory name")
        }
    }
}
