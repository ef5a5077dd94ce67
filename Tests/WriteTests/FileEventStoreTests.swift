import Synchronization
import XCTest
import Foundation
import Glibc
@testable import Write
import Core

final class FileEventStoreTests: XCTestCase {
    private var directories: [String] = []

    override func tearDown() {
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        directories = []
        super.tearDown()
    }

    private func makeDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("event-store-\(EventID.random())").path
        directories.append(path)
        return path
    }

    private func makeStore(_ directory: String? = nil) throws -> (FileEventStore, String) {
        let root = directory ?? makeDirectory()
        return (try FileEventStore(directory: root), root)
    }

    /// For tests that tamper with the files underneath the store, or read entries stamped in the future:
    /// every read goes to the files.
    private func makeStoreReadingFiles() throws -> (FileEventStore, String) {
        let root = makeDirectory()
        var options = FileEventStore.Options()
        options.servesRecentAppendsFromMemory = false
        return (try FileEventStore(directory: root, options: options), root)
    }

    static let day1: Int64 = 1_795_334_139_123   // 2026-11-22T07:55:39.123Z
    static let dayMs: Int64 = 86_400_000

    private func envelope(id: String = EventID.random(), type: String = "INSTANCE_CREATED", aggregateType: String = "Instance",
                          aggregate: String = "db1:main:Person:p-1", at ms: Int64 = FileEventStoreTests.day1,
                          sequence: Int? = 1, data: JSONValue = ["name": "Ada"], topic: String = "instance_events") -> EventEnvelope {
        EventEnvelope(eventId: id, eventType: type, aggregateType: aggregateType, aggregateId: aggregate, occurredAtMilliseconds: ms,
                      actor: "alice", data: data,
                      metadata: EventMetadata(kind: .domain, kafkaTopic: topic, service: "instance-worker", commandId: "c1"),
                      sequenceNumber: sequence)
    }

    /// The EventStoreError `body` throws (nil when it succeeds; any other error fails the test).
    private func caught<T>(_ body: () async throws -> T, line: UInt = #line) async -> EventStoreError? {
        do { _ = try await body(); return nil } catch let error as EventStoreError { return error } catch {
            XCTFail("unexpected error \(error)", line: line)
            return nil
        }
    }

    private static func attempt(_ store: FileEventStore, _ envelope: EventEnvelope) async -> StoreAppendResult {
        do throws(EventStoreError) { return .success(try await store.append(envelope)) } catch { return .failure(error) }
    }

    private func read(_ root: String, _ key: String) -> String? {
        guard let data = FileManager.default.contents(atPath: root + "/" + key) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private func write(_ root: String, _ key: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: root + "/" + key, contents: Data(text.utf8))
    }

    private func remove(_ root: String, _ key: String) throws {
        try FileManager.default.removeItem(atPath: root + "/" + key)
    }

    /// Every file under root, relative, sorted (without the write-ahead log, `wal/`).
    private func allFiles(_ root: String) -> [String] {
        var result: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if path.hasPrefix("wal/") { continue }
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result.append(path)
            }
        }
        return result.sorted()
    }

    // MARK: Basics

    func testAppendThenReadById() async throws {
        let (store, _) = try makeStore()
        defer { store.close() }
        let e = envelope()
        let outcome = try await store.append(e)
        await store.layoutWritten()
        XCTAssertEqual(outcome, .appended)
        let stored = try await store.event(id: e.eventId)
        XCTAssertEqual(stored, e)
        let upper = try await store.event(id: e.eventId.uppercased())
        XCTAssertEqual(upper, e)
        let missing = try await store.event(id: EventID.random())
        XCTAssertNil(missing)
        let traversal = try await store.event(id: "../../etc/passwd")
        XCTAssertNil(traversal)
    }

    func testObjectsAreWrittenAtTheExactKeysWithIndexBodies() async throws {
        let (store, root) = try makeStore()
        defer { store.close() }
        let id = "966b5393-6c11-5b20-a88a-3a30e5e9acba"
        let e = envelope(id: id, sequence: 7)
        _ = try await store.append(e)
        await store.layoutWritten()
        let eventKey = "events/2026/11/22/Instance/db1%3Amain%3APerson%3Ap-1/\(id).json"
        let indexBody = #"{"aggregate_id":"db1:main:Person:p-1","aggregate_type":"Instance","event_id":"\#(id)","#
            + #""event_type":"INSTANCE_CREATED","kafka_topic":"instance_events","occurred_at":"2026-11-22T07:55:39.123Z","#
            + #""s3_key":"\#(eventKey)","schema_version":"1","sequence_number":7}"#
        XCTAssertEqual(allFiles(root), [
            ".lock",
            eventKey,
            "indexes/by-aggregate/Instance/db1%3Amain%3APerson%3Ap-1/00000000000000000007_\(id).json",
            "indexes/by-date/2026/11/22/1795334139123_\(id).json",
            "indexes/by-event-id/\(id).json",
        ])
        XCTAssertEqual(read(root, eventKey), JSONWriter.string(e.json))
        XCTAssertEqual(read(root, "indexes/by-event-id/\(id).json"), indexBody)
        XCTAssertEqual(read(root, "indexes/by-date/2026/11/22/1795334139123_\(id).json"), indexBody)
        XCTAssertEqual(read(root, "indexes/by-aggregate/Instance/db1%3Amain%3APerson%3Ap-1/00000000000000000007_\(id).json"), indexBody)
        // The three index entries are one file under three names (one inode instead of three).
        let indexInodes = ["indexes/by-event-id/\(id).json", "indexes/by-date/2026/11/22/1795334139123_\(id).json",
                           "indexes/by-aggregate/Instance/db1%3Amain%3APerson%3Ap-1/00000000000000000007_\(id).json"].map { key -> [UInt64] in
            var info = stat()
            XCTAssertEqual(stat(root + "/" + key, &info), 0)
            return [UInt64(info.st_ino), UInt64(info.st_nlink)]
        }
        XCTAssertEqual(Set(indexInodes).count, 1)
        XCTAssertEqual(indexInodes.first?[1], 3)

        // Without a sequence number there is no by-aggregate entry.
        let loose = envelope(aggregateType: "Database", aggregate: "db1", sequence: nil)
        _ = try await store.append(loose)
        await store.layoutWritten()
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/indexes/by-event-id/\(loose.eventId).json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/indexes/by-aggregate/Database"))
        XCTAssertEqual(allFiles(root).count, 5 + 3)
    }

    // MARK: Idempotency

    func testSameIdAndPayloadIsAlreadyPresent() async throws {
        let (store, root) = try makeStore()
        defer { store.close() }
        let e = envelope(sequence: 1)
        _ = try await store.append(e)
        await store.layoutWritten()
        let before = allFiles(root)
        let again = try await store.append(e)
        await store.layoutWritten()
        XCTAssertEqual(again, .alreadyPresent)
        // Another sequence number or topic is still the same event (they are not part of the payload).
        let retried = try await store.append(envelope(id: e.eventId, sequence: 5, topic: "other"))
        await store.layoutWritten()
        XCTAssertEqual(retried, .alreadyPresent)
        XCTAssertEqual(allFiles(root), before)
        let stored = try await store.event(id: e.eventId)
        XCTAssertEqual(stored?.sequenceNumber, 1)
    }

    func testSameIdWithAnotherPayloadIsRefusedAndTheStoredObjectIsUnchanged() async throws {
        let (store, root) = try makeStore()
        defer { store.close() }
        let e = envelope()
        _ = try await store.append(e)
        await store.layoutWritten()
        let key = EventStoreKeys.eventKey(for: e)
        let bytes = read(root, key)
        let files = allFiles(root)
        let changedData = await caught { try await store.append(envelope(id: e.eventId, data: ["name": "Eve"])) }
        XCTAssertEqual(changedData, .eventIdReused(eventId: e.eventId))
        XCTAssertEqual(changedData?.problem.status, 409)
        // Another day and aggregate (so another key): found through by-event-id all the same.
        let elsewhere = await caught { try await store.append(envelope(id: e.eventId, aggregate: "db2:x", at: Self.day1 + 3 * Self.dayMs)) }
        XCTAssertEqual(elsewhere, .eventIdReused(eventId: e.eventId))
        XCTAssertEqual(read(root, key), bytes)
        XCTAssertEqual(allFiles(root), files)
        let stored = try await store.event(id: e.eventId)
        XCTAssertEqual(stored, e)
    }

    /// The next batch is planned while the previous batch's layout is still being written: an id of that
    /// batch is judged from memory, not from its half-written files.
    func testAnIdAppendedAgainWhileItsLayoutIsUnderWayIsJudgedFromMemory() async throws {
        let root = makeDirectory()
        var options = FileEventStore.Options()
        options.servesRecentAppendsFromMemory = false
        options.layoutDelayMilliseconds = 300
        let store = try FileEventStore(directory: root, options: options)
        defer { store.close() }
        let e = envelope(sequence: 1)
        let first = try await store.append(e)
        XCTAssertEqual(first, .appended)
        // Its layout has not started: nothing but the lock is in the directory yet.
        XCTAssertEqual(allFiles(root), [".lock"])
        let again = try await store.append(e)
        XCTAssertEqual(again, .alreadyPresent)
        let other = await caught { try await store.append(envelope(id: e.eventId, sequence: 1, data: ["name": "Eve"])) }
        XCTAssertEqual(other, .eventIdReused(eventId: e.eventId))
        let f = envelope(aggregate: "db1:main:Person:p-2", sequence: 1)
        let next = try await store.append(f)
        XCTAssertEqual(next, .appended)
        await store.layoutWritten()
        // Each envelope once, with its three index entries; the store still accepts appends.
        XCTAssertEqual(allFiles(root).count, 1 + 2 * 4, "\(allFiles(root))")
        let storedE = try await store.event(id: e.eventId)
        let storedF = try await store.event(id: f.eventId)
        XCTAssertEqual(storedE, e)
        XCTAssertEqual(storedF, f)
        let later = try await store.append(envelope(aggregate: "db1:main:Person:p-3", sequence: 1))
        XCTAssertEqual(later, .appended)
    }

    /// A writer with a layout always under way (each one slow here) still lets waiting readers in between
    /// two layouts.
    func testReadersGetInWhileAppendsKeepTheWriterBusy() async throws {
        let root = makeDirectory()
        var options = FileEventStore.Options()
        options.layoutDelayMilliseconds = 40
        let store = try FileEventStore(directory: root, options: options)
        defer { store.close() }
        let first = envelope(sequence: 1)
        _ = try await store.append(first)
        let appendsDone = Mutex(0)
        let appends = 30
        let envelopes = (0..<appends).map { envelope(aggregate: "db1:main:Person:w-\($0)", sequence: 1) }
        let writer = Task {
            for next in envelopes {
                _ = try await store.append(next)
                appendsDone.withLock { $0 += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let read = try await store.event(id: first.eventId)
        let doneWhenRead = appendsDone.withLock { $0 }
        try await writer.value
        XCTAssertEqual(read, first)
        XCTAssertLessThan(doneWhenRead, appends, "the read waited for every append: readers were held off")
    }

    func testMissingIndexEntriesAreRepairedByAReappend() async throws {
        let (store, root) = try makeStoreReadingFiles()
        defer { store.close() }
        let e = envelope(sequence: 4)
        _ = try await store.append(e)
        await store.layoutWritten()
        let complete = allFiles(root)
        // A crash after the envelope and by-event-id, before the other indexes.
        try remove(root, EventStoreKeys.byDateKey(for: e))
        try remove(root, EventStoreKeys.byAggregateKey(for: e)!)
        let first = try await store.append(e)
        XCTAssertEqual(first, .alreadyPresent)
        await store.layoutWritten()
        XCTAssertEqual(allFiles(root), complete)
        // A crash right after the envelope object: no index at all.
        try remove(root, EventStoreKeys.byEventIdKey(eventId: e.eventId))
        try remove(root, EventStoreKeys.byDateKey(for: e))
        try remove(root, EventStoreKeys.byAggregateKey(for: e)!)
        let invisible = try await store.event(id: e.eventId)
        XCTAssertNil(invisible)
        let tailBefore = try await store.tail(after: nil, limit: 10)
        XCTAssertTrue(tailBefore.isEmpty)
        // Another payload for that id is refused even so (the envelope's own key is checked).
        let conflicting = await caught { try await store.append(envelope(id: e.eventId, sequence: 4, data: ["name": "Eve"])) }
        XCTAssertEqual(conflicting, .eventIdReused(eventId: e.eventId))
        XCTAssertEqual(allFiles(root).count, 2)
        let second = try await store.append(e)
        XCTAssertEqual(second, .alreadyPresent)
        await store.layoutWritten()
        XCTAssertEqual(allFiles(root), complete)
        let tailAfter = try await store.tail(after: nil, limit: 10)
        XCTAssertEqual(tailAfter.map(\.envelope), [e])
    }

    func testDuplicatesInsideOneBatch() async throws {
        let (store, root) = try makeStore()
        defer { store.close() }
        let e = envelope()
        let outcomes = await withTaskGroup(of: StoreAppendResult.self) { group in
            for _ in 0..<20 { group.addTask { await Self.attempt(store, e) } }
            var all: [StoreAppendResult] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        XCTAssertEqual(outcomes.filter { $0 == .success(.appended) }.count, 1)
        XCTAssertEqual(outcomes.filter { $0 == .success(.alreadyPresent) }.count, 19)

        let id = EventID.random()
        let rivals = await withTaskGroup(of: StoreAppendResult.self) { group in
            for n in 0..<10 {
                let candidate = envelope(id: id, data: ["n": .number(Double(n))])
                group.addTask { await Self.attempt(store, candidate) }
            }
            var all: [StoreAppendResult] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        XCTAssertEqual(rivals.filter { $0 == .success(.appended) }.count, 1)
        XCTAssertEqual(rivals.filter { $0 == .failure(.eventIdReused(eventId: id)) }.count, 9)
        await store.layoutWritten()
        XCTAssertEqual(allFiles(root).count, 1 + 4 + 4)
    }

    func testInvalidEnvelopesAreRefused() async throws {
        let (store, root) = try makeStore()
        defer { store.close() }
        var bad = envelope()
        bad.eventId = "../../x"
        let error = await caught { try await store.append(bad) }
        guard case .invalidEnvelope(let problem)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(problem.field, "event.event_id")
        var empty = envelope()
        empty.aggregateId = ""
        let emptyError = await caught { try await store.append(empty) }
        guard case .invalidEnvelope? = emptyError else { return XCTFail("\(String(describing: emptyError))") }
        XCTAssertEqual(allFiles(root), [".lock"])
    }

    // MARK: Reading

    func testEventsOfAnAggregateAreOrderedBySequence() async throws {
        let (store, _) = try makeStore()
        defer { store.close() }
        var expected: [EventEnvelope] = []
        for sequence in [3, 1, 10, 2] {
            let e = envelope(aggregate: "db1:main:Person:a", at: Self.day1 + Int64(sequence) * Self.dayMs, sequence: sequence)
            _ = try await store.append(e)
            await store.layoutWritten()
            expected.append(e)
        }
        _ = try await store.append(envelope(aggregate: "db1:main:Person:b", sequence: 1))
        await store.layoutWritten()
        _ = try await store.append(envelope(aggregate: "db1:main:Person:a", sequence: nil))
        await store.layoutWritten()
        expected.sort { $0.sequenceNumber! < $1.sequenceNumber! }
        let all = try await store.events(aggregateType: "Instance", aggregateId: "db1:main:Person:a")
        XCTAssertEqual(all, expected)
        let later = try await store.events(aggregateType: "Instance", aggregateId: "db1:main:Person:a", fromSequence: 3)
        XCTAssertEqual(later.map(\.sequenceNumber), [3, 10])
        let none = try await store.events(aggregateType: "Instance", aggregateId: "nobody", fromSequence: 0)
        XCTAssertEqual(none, [])
        let empty = try await store.events(aggregateType: "Instance", aggregateId: "", fromSequence: 0)
        XCTAssertEqual(empty, [])
    }

    func testTailAcrossDaysIsOrderedAndResumesFromAPosition() async throws {
        // Days in the future included: read from the files (memory holds back entries not yet in the past).
        let (store, _) = try makeStoreReadingFiles()
        defer { store.close() }
        var all: [EventEnvelope] = []
        // Three days (one a month and a year boundary later), several events per day, appended shuffled.
        let starts: [Int64] = [Self.day1, Self.day1 + Self.dayMs, Self.day1 + 45 * Self.dayMs]
        for start in starts {
            for k in 0..<4 { all.append(envelope(aggregate: "agg-\(k)", at: start + Int64(k % 2) * 1000, sequence: nil)) }
        }
        var generator = SystemRandomNumberGenerator()
        for e in all.shuffled(using: &generator) { _ = try await store.append(e) }
        let ordered = all.sorted { (EventStoreKeys.byDateKey(for: $0)).utf8.lexicographicallyPrecedes(EventStoreKeys.byDateKey(for: $1).utf8) }
        XCTAssertTrue(ordered.map(\.occurredAtMilliseconds) == ordered.map(\.occurredAtMilliseconds).sorted())

        let everything = try await store.tail(after: nil, limit: 100)
        XCTAssertEqual(everything.map(\.envelope), ordered)
        XCTAssertEqual(everything.map(\.position.key), ordered.map { EventStoreKeys.byDateKey(for: $0) })

        var pages: [EventEnvelope] = []
        var position: EventStorePosition?
        while true {
            let page = try await store.tail(after: position, limit: 5)
            if page.isEmpty { break }
            XCTAssertLessThanOrEqual(page.count, 5)
            pages += page.map(\.envelope)
            position = page.last!.position
        }
        XCTAssertEqual(pages, ordered)
        let afterEnd = try await store.tail(after: everything.last!.position, limit: 10)
        XCTAssertTrue(afterEnd.isEmpty)
        // A position on a day without entries (between day 2 and day 3) resumes at day 3.
        let between = EventStorePosition(key: EventStoreKeys.byDateDirectory(milliseconds: Self.day1 + 10 * Self.dayMs) + "0000000000000_x")
        let resumed = try await store.tail(after: between, limit: 100)
        XCTAssertEqual(resumed.map(\.envelope), Array(ordered.suffix(4)))
        let none = try await store.tail(after: nil, limit: 0)
        XCTAssertTrue(none.isEmpty)
        // A late entry (older occurred_at than the position) appears before it: the publisher's look-back finds it.
        let late = envelope(at: Self.day1 - 1, sequence: nil)
        _ = try await store.append(late)
        await store.layoutWritten()
        let fromStart = try await store.tail(after: nil, limit: 1)
        XCTAssertEqual(fromStart.first?.envelope, late)
    }

    func testUnsafeAggregateIdCharactersAreEncoded() async throws {
        let (store, root) = try makeStore()
        defer { store.close() }
        let aggregate = "db/1:main:../../Per son%2F.x"
        let e = envelope(aggregateType: "../Type", aggregate: aggregate, sequence: 2)
        _ = try await store.append(e)
        await store.layoutWritten()
        let encodedType = "%2E.%2FType"
        let encodedId = "db%2F1%3Amain%3A..%2F..%2FPer%20son%252F.x"
        XCTAssertEqual(EventStoreKeys.eventKey(for: e), "events/2026/11/22/\(encodedType)/\(encodedId)/\(e.eventId).json")
        XCTAssertTrue(allFiles(root).contains("events/2026/11/22/\(encodedType)/\(encodedId)/\(e.eventId).json"))
        XCTAssertTrue(allFiles(root).contains("indexes/by-aggregate/\(encodedType)/\(encodedId)/00000000000000000002_\(e.eventId).json"))
        XCTAssertEqual(allFiles(root).count, 5)
        let byAggregate = try await store.events(aggregateType: "../Type", aggregateId: aggregate, fromSequence: 0)
        XCTAssertEqual(byAggregate, [e])
        let tail = try await store.tail(after: nil, limit: 10)
        XCTAssertEqual(tail.map(\.envelope), [e])
    }

    // MARK: Corruption

    func testCorruptObjectsAreReportedWithTheirKey() async throws {
        let (store, root) = try makeStoreReadingFiles()
        defer { store.close() }
        let e = envelope(sequence: 1)
        _ = try await store.append(e)
        await store.layoutWritten()
        let eventKey = EventStoreKeys.eventKey(for: e)
        try remove(root, eventKey)
        write(root, eventKey, "{\"event_id\": tru")

        func expectCorrupt(_ key: String, _ error: EventStoreError?, line: UInt = #line) {
            guard case .corrupt(let reported, _)? = error else { return XCTFail("expected corrupt, got \(String(describing: error))", line: line) }
            XCTAssertEqual(reported, key, line: line)
        }
        expectCorrupt(eventKey, await caught { try await store.event(id: e.eventId) })
        expectCorrupt(eventKey, await caught { try await store.tail(after: nil, limit: 10) })
        expectCorrupt(eventKey, await caught { try await store.events(aggregateType: "Instance", aggregateId: e.aggregateId, fromSequence: 0) })
        expectCorrupt(eventKey, await caught { try await store.append(e) })

        // A valid envelope of another event at this key.
        try remove(root, eventKey)
        write(root, eventKey, JSONWriter.string(envelope().json))
        expectCorrupt(eventKey, await caught { try await store.event(id: e.eventId) })

        // Index bodies: not JSON, no s3_key, an s3_key outside the events tree, naming a missing envelope.
        let indexKey = EventStoreKeys.byEventIdKey(eventId: e.eventId)
        for body in ["garbage", "{}", #"{"s3_key":"../../../etc/passwd"}"#, #"{"s3_key":"events/2026/11/22/a/b/\#(EventID.random()).json"}"#] {
            try remove(root, indexKey)
            write(root, indexKey, body)
            expectCorrupt(indexKey, await caught { try await store.event(id: e.eventId) })
        }

        // A stray name in a by-date directory.
        let stray = "indexes/by-date/2026/11/21/not-an-index.json"
        try FileManager.default.createDirectory(atPath: root + "/indexes/by-date/2026/11/21", withIntermediateDirectories: true)
        write(root, stray, "{}")
        expectCorrupt(stray, await caught { try await store.tail(after: nil, limit: 10) })
    }

    func testTemporaryFilesLeftByACrashAreIgnored() async throws {
        let (store, root) = try makeStore()
        defer { store.close() }
        let e = envelope(sequence: 1)
        _ = try await store.append(e)
        await store.layoutWritten()
        for key in [EventStoreKeys.byDateDirectory(milliseconds: e.occurredAtMilliseconds),
                    EventStoreKeys.byAggregateDirectory(aggregateType: e.aggregateType, aggregateId: e.aggregateId),
                    EventStoreKeys.byEventIdPrefix] {
            write(root, key + ".tmp-deadbeef", "{\"half")
        }
        let tail = try await store.tail(after: nil, limit: 10)
        XCTAssertEqual(tail.map(\.envelope), [e])
        let stream = try await store.events(aggregateType: e.aggregateType, aggregateId: e.aggregateId, fromSequence: 0)
        XCTAssertEqual(stream, [e])
        let next = envelope(sequence: 2)
        let outcome = try await store.append(next)
        await store.layoutWritten()
        XCTAssertEqual(outcome, .appended)
    }

    // MARK: Lifecycle and durability

    func testOneStorePerDirectoryAndDataSurvivesReopening() async throws {
        let (store, root) = try makeStore()
        let e = envelope()
        _ = try await store.append(e)
        await store.layoutWritten()
        XCTAssertThrowsError(try FileEventStore(directory: root)) { error in
            guard case .io(let message)? = error as? EventStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("in use"), message)
        }
        store.close()
        let closedAppend = await caught { try await store.append(envelope()) }
        guard case .io? = closedAppend else { return XCTFail("\(String(describing: closedAppend))") }
        let reopened = try FileEventStore(directory: root)
        defer { reopened.close() }
        let stored = try await reopened.event(id: e.eventId)
        XCTAssertEqual(stored, e)
        let again = try await reopened.append(e)
        XCTAssertEqual(again, .alreadyPresent)
    }

    func test200ConcurrentAppendsAreAllDurableAndListed() async throws {
        let (store, root) = try makeStore()
        let envelopes = (0..<200).map { n in
            envelope(aggregate: "db1:main:Person:p\(n % 20)", at: Self.day1 + Int64(n) * 60_000, sequence: n / 20 + 1)
        }
        let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
            for e in envelopes { group.addTask { try await store.append(e) } }
            var all: [AppendOutcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        XCTAssertEqual(outcomes.count, 200)
        XCTAssertTrue(outcomes.allSatisfy { $0 == .appended })
        let statistics = store.statistics
        XCTAssertEqual(statistics.appendRequests, 200)
        XCTAssertGreaterThan(statistics.largestBatch, 1, "concurrent appends should share batches")
        store.close()
        XCTAssertFalse(allFiles(root).contains { $0.split(separator: "/").last!.hasPrefix(".tmp") })

        let reopened = try FileEventStore(directory: root)
        defer { reopened.close() }
        let tail = try await reopened.tail(after: nil, limit: 1000)
        XCTAssertEqual(tail.map(\.envelope), envelopes)
        for e in envelopes.prefix(20) {
            let stored = try await reopened.event(id: e.eventId)
            XCTAssertEqual(stored, e)
        }
        let stream = try await reopened.events(aggregateType: "Instance", aggregateId: "db1:main:Person:p7")
        XCTAssertEqual(stream.map(\.sequenceNumber), Array(1...10))
    }

    /// Appends are answered after the log fsync, before their layout objects exist; a reader that starts
    /// after an append returned must still find it in the files (it waits at the gate for the layout).
    func testEveryAppendIsReadableFromTheFilesTheMomentItReturns() async throws {
        let (store, root) = try makeStoreReadingFiles()
        defer { store.close() }
        let envelopes = (0..<100).map { n in envelope(aggregate: "db1:main:Person:r\(n)", at: Self.day1 + Int64(n)) }
        let misses = try await withThrowingTaskGroup(of: Int.self) { group in
            for e in envelopes {
                group.addTask {
                    _ = try await store.append(e)
                    await store.layoutWritten()
                    var missed = 0
                    if try await store.event(id: e.eventId) != e { missed += 1 }
                    if try await store.events(aggregateType: "Instance", aggregateId: e.aggregateId).map(\.eventId) != [e.eventId] { missed += 1 }
                    return missed
                }
            }
            return try await group.reduce(0, +)
        }
        XCTAssertEqual(misses, 0)
        let tail = try await store.tail(after: nil, limit: 1000)
        XCTAssertEqual(tail.count, 100)
        XCTAssertFalse(allFiles(root).contains { $0.split(separator: "/").last!.hasPrefix(".tmp") })
    }

    func testAReservedGateHoldsOffNewReadersUntilTheWriterIsDone() throws {
        let gate = ReadWriteGate()
        let order = OrderLog()
        gate.reserveExclusive()
        let reader = Thread {
            gate.withShared { order.append("reader") }
        }
        reader.start()
        usleep(50_000) // the reader is waiting at the gate by now
        gate.withReservedExclusive { order.append("writer") }
        for _ in 0..<200 where order.entries.count < 2 { usleep(5_000) }
        XCTAssertEqual(order.entries, ["writer", "reader"])
    }

    // MARK: Write-ahead log and recovery

    /// The path of the one write-ahead log segment in root.
    private func segments(_ root: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root + "/wal").filter { $0.hasSuffix(".log") }.sorted().map { root + "/wal/" + $0 }
    }

    /// Appends with a store that dies right after each log fsync (no layout objects, no checkpoint).
    private func appendWithoutLayout(_ root: String, _ envelopes: [EventEnvelope]) async throws {
        var options = FileEventStore.Options()
        options.writesLayout = false
        let store = try FileEventStore(directory: root, options: options)
        defer { store.close() }
        for e in envelopes {
            let outcome = try await store.append(e)
            await store.layoutWritten()
            XCTAssertEqual(outcome, .appended)
        }
    }

    func testRecoveryRestoresLayoutObjectsFromTheLog() async throws {
        let root = makeDirectory()
        let (first, _) = try makeStore(root)
        let early = envelope(aggregate: "db1:main:Person:r", sequence: 1)
        _ = try await first.append(early)
        first.close()
        let logged = (2...6).map { n in envelope(aggregate: "db1:main:Person:r", at: Self.day1 + Int64(n), sequence: n) }
        try await appendWithoutLayout(root, logged)
        XCTAssertEqual(allFiles(root).count, 1 + 4, "only the first event's objects exist before recovery")
        let reopened = try FileEventStore(directory: root)
        defer { reopened.close() }
        XCTAssertEqual(allFiles(root).count, 1 + 6 * 4)
        for e in [early] + logged {
            let stored = try await reopened.event(id: e.eventId)
            XCTAssertEqual(stored, e)
        }
        let stream = try await reopened.events(aggregateType: "Instance", aggregateId: "db1:main:Person:r")
        XCTAssertEqual(stream, [early] + logged)
        let tail = try await reopened.tail(after: nil, limit: 100)
        XCTAssertEqual(tail.count, 6)
        // Idempotency holds across the crash.
        let again = try await reopened.append(logged[2])
        XCTAssertEqual(again, .alreadyPresent)
        let conflicting = await caught { try await reopened.append(envelope(id: logged[3].eventId, data: ["name": "Eve"])) }
        XCTAssertEqual(conflicting, .eventIdReused(eventId: logged[3].eventId))
        // Replayed segments are gone once checkpointed.
        XCTAssertEqual(try segments(root).count, 1)
    }

    func testRecoveryRewritesObjectsACrashLeftTorn() async throws {
        // The layout writes each object in place, unsynced: a crash before the checkpoint can leave a name
        // whose file is empty or cut short. Recovery compares every object of the log's unchecked tail with
        // the logged envelope and rewrites those that differ.
        let root = makeDirectory()
        let logged = (1...3).map { n in envelope(aggregate: "db1:main:Person:torn", at: Self.day1 + Int64(n), sequence: n) }
        try await appendWithoutLayout(root, logged)
        let whole = BatchCommitter.layoutObjects(for: logged[0], envelopeBytes: logged[0].jsonBytes)
            + BatchCommitter.layoutObjects(for: logged[1], envelopeBytes: logged[1].jsonBytes)
        for object in whole {
            try FileManager.default.createDirectory(atPath: root + "/" + StoreFiles.parent(of: object.key), withIntermediateDirectories: true)
        }
        // The first event: its envelope cut short, its by-event-id entry empty, its other entries whole.
        write(root, whole[0].key, String(decoding: whole[0].bytes.prefix(40), as: UTF8.self))
        write(root, whole[1].key, "")
        for object in whole[2...3] { write(root, object.key, String(decoding: object.bytes, as: UTF8.self)) }
        // The second: every object whole (kept as it is).
        for object in whole[4...] { write(root, object.key, String(decoding: object.bytes, as: UTF8.self)) }
        var before = stat()
        XCTAssertEqual(stat(root + "/" + whole[4].key, &before), 0)

        let store = try FileEventStore(directory: root)
        defer { store.close() }
        for object in whole + BatchCommitter.layoutObjects(for: logged[2], envelopeBytes: logged[2].jsonBytes) {
            XCTAssertEqual(read(root, object.key), String(decoding: object.bytes, as: UTF8.self), object.key)
        }
        var after = stat()
        XCTAssertEqual(stat(root + "/" + whole[4].key, &after), 0)
        XCTAssertEqual(after.st_ino, before.st_ino, "a whole object is not rewritten")
        for e in logged {
            let stored = try await store.event(id: e.eventId)
            XCTAssertEqual(stored, e)
        }
        let stream = try await store.events(aggregateType: "Instance", aggregateId: "db1:main:Person:torn")
        XCTAssertEqual(stream, logged)
        XCTAssertEqual(allFiles(root).count, 1 + 3 * 4, "no temporary file is left")
    }

    func testRecoveryAfterCheckpointedFilesWereLost() async throws {
        // Objects removed after a checkpoint are not the log's business; without a checkpoint they are.
        let root = makeDirectory()
        let logged = (1...3).map { n in envelope(aggregate: "db1:main:Person:q", sequence: n) }
        try await appendWithoutLayout(root, logged)
        try? remove(root, "wal/checkpoint")
        let store = try FileEventStore(directory: root)
        defer { store.close() }
        for e in logged {
            let stored = try await store.event(id: e.eventId)
            XCTAssertEqual(stored, e)
        }
    }

    func testATornLogTailIsIgnoredOnOpen() async throws {
        let root = makeDirectory()
        let logged = (1...3).map { n in envelope(aggregate: "db1:main:Person:t", sequence: n) }
        try await appendWithoutLayout(root, logged)
        let segment = try XCTUnwrap(try segments(root).last)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int)
        // The last record cut short, then garbage after it.
        XCTAssertEqual(truncate(segment, off_t(size - 10)), 0)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data([0xFF, 0x00, 0x13, 0x37, 1, 2, 3]))
        handle.closeFile()

        let store = try FileEventStore(directory: root)
        defer { store.close() }
        let recovered0 = try await store.event(id: logged[0].eventId)
        XCTAssertEqual(recovered0, logged[0])
        let recovered1 = try await store.event(id: logged[1].eventId)
        XCTAssertEqual(recovered1, logged[1])
        let torn = try await store.event(id: logged[2].eventId)
        XCTAssertNil(torn)
        XCTAssertEqual(allFiles(root).count, 1 + 2 * 4)
        // Later appends work, including the torn one.
        let outcome = try await store.append(logged[2])
        await store.layoutWritten()
        XCTAssertEqual(outcome, .appended)
        let next = envelope(aggregate: "db1:main:Person:t", sequence: 4)
        let nextOutcome = try await store.append(next)
        await store.layoutWritten()
        XCTAssertEqual(nextOutcome, .appended)
        let stream = try await store.events(aggregateType: "Instance", aggregateId: "db1:main:Person:t")
        XCTAssertEqual(stream, logged + [next])
    }

    func testLogRecordsAreChecksummed() {
        var bytes: [UInt8] = []
        WriteAheadLog.encode(Array("one".utf8), into: &bytes)
        WriteAheadLog.encode(Array("two".utf8), into: &bytes)
        let whole = WriteAheadLog.decode(bytes, from: 0)
        XCTAssertEqual(whole.records.map { String(decoding: $0, as: UTF8.self) }, ["one", "two"])
        XCTAssertEqual(whole.end, bytes.count)
        var flipped = bytes
        flipped[flipped.count - 1] ^= 1
        let damaged = WriteAheadLog.decode(flipped, from: 0)
        XCTAssertEqual(damaged.records.count, 1)
        XCTAssertEqual(damaged.end, 24 + 3)
        XCTAssertEqual(WriteAheadLog.decode(Array(bytes.prefix(30)), from: 0).end, 27)
    }

    /// Prints throughput and fsyncs per append for 1 and 32 concurrent appenders (figures, not assertions).
    func testGroupCommitFigures() async throws {
        func ms(_ nanoseconds: Int, _ batches: Int) -> String { String(format: "%.2f", Double(nanoseconds) / 1e6 / Double(max(batches, 1))) }
        func measure(appenders: Int, perAppender: Int) async throws -> String {
            let (store, _) = try makeStore()
            defer { store.close() }
            let streams = (0..<appenders).map { a in
                (0..<perAppender).map { n in envelope(aggregate: "db1:main:Person:w\(a)", at: Self.day1 + Int64(n), sequence: n + 1) }
            }
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for stream in streams {
                    group.addTask {
                        for e in stream { _ = try await store.append(e) }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let s = store.statistics
            let total = Double(appenders * perAppender)
            XCTAssertLessThanOrEqual(s.fileFsyncs, s.batches, "one log fsync per batch")
            return "appenders=\(appenders) appends=\(Int(total)) appends/s=\(Int(total / seconds)) "
                + "batches=\(s.batches) largestBatch=\(s.largestBatch) "
                + "fsyncs/append=\(String(format: "%.2f", Double(s.fsyncs) / total)) "
                + "(files \(String(format: "%.2f", Double(s.fileFsyncs) / total)), dirs \(String(format: "%.2f", Double(s.directoryFsyncs) / total))) "
                + "fsyncs/batch=\(String(format: "%.2f", Double(s.fsyncs) / Double(max(s.batches, 1)))) background syncs=\(s.backgroundSyncs) "
                + "writer ms/batch: plan \(ms(s.planNanoseconds, s.batches)) "
                + "write+sync \(ms(s.fileSyncNanoseconds, s.batches)) publish \(ms(s.publishNanoseconds, s.batches))"
        }
        let one = try await measure(appenders: 1, perAppender: 300)
        let many = try await measure(appenders: 32, perAppender: 50)
        print("GROUP-COMMIT \(one)")
        print("GROUP-COMMIT \(many)")
    }
}

/// The memory the publisher tails from hands entries out in an order no append can undercut.
final class RecentAppendsTests: XCTestCase {
    private func envelope(at milliseconds: Int64) -> EventEnvelope {
        EventEnvelope(eventType: "INSTANCE_CREATED", aggregateType: "Instance", aggregateId: "a", occurredAtMilliseconds: milliseconds,
                      metadata: EventMetadata(kind: .domain, kafkaTopic: "instance_events", service: "test"))
    }

    func testAnEntryIsHeldBackWhileAnEarlierKeyIsStillBeingAppended() {
        let recent = RecentAppends(newestAtOpen: nil)
        let past = EventTimestamp.nowMilliseconds() - 1000
        let earlier = envelope(at: past), later = envelope(at: past + 1)
        recent.begin(earlier)
        recent.begin(later)
        recent.finish(later, stored: true)
        XCTAssertEqual(recent.entries(after: nil, limit: 10)?.count, 0, "the later entry waits for the earlier one")
        recent.finish(earlier, stored: true)
        XCTAssertEqual(recent.entries(after: nil, limit: 10)?.map(\.envelope.eventId), [earlier.eventId, later.eventId])
    }

    func testEntriesOfTheCurrentMillisecondAreHeldBack() {
        let recent = RecentAppends(newestAtOpen: nil)
        let future = envelope(at: EventTimestamp.nowMilliseconds() + 60_000)
        recent.begin(future)
        recent.finish(future, stored: true)
        XCTAssertEqual(recent.entries(after: nil, limit: 10)?.count, 0)
    }

    func testPositionsBeforeTheFloorAreLeftToTheFiles() {
        let past = EventTimestamp.nowMilliseconds() - 1000
        let onDisk = EventStoreKeys.byDateKey(for: envelope(at: past))
        let recent = RecentAppends(newestAtOpen: onDisk)
        XCTAssertNil(recent.entries(after: nil, limit: 10))
        XCTAssertEqual(recent.entries(after: EventStorePosition(key: onDisk), limit: 10)?.count, 0)
    }
}

private final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ entry: String) { lock.withLock { list.append(entry) } }
    var entries: [String] { lock.withLock { list } }
}
