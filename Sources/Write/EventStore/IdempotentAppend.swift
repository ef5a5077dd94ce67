import Core

extension EventStore {
    /// Appends an envelope whose earlier attempt may already be stored. Ids are derived from the command,
    /// but the timestamp is taken per attempt, so a stored copy from a crashed attempt differs only in
    /// `occurred_at`: then the stored timestamp is adopted and the append lands as `.alreadyPresent`.
    /// Any other difference is still refused (`.eventIdReused`, rule 5).
    public func appendAdoptingStoredTimestamp(_ envelope: EventEnvelope) async throws(EventStoreError) -> AppendOutcome {
        do throws(EventStoreError) {
            return try await append(envelope)
        } catch .eventIdReused {
            guard let stored = try await event(id: envelope.eventId) else { throw .eventIdReused(eventId: envelope.eventId) }
            var retry = envelope
            retry.occurredAtMilliseconds = stored.occurredAtMilliseconds
            return try await append(retry)
        }
    }
}
