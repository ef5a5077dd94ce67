import CPostgres
import Glibc

// The pieces the I/O thread works with: one libpq connection, the queries queued on it, the query it is
// running, and the PGresult wrapper handed back to callers. Everything except PostgresRawResult is
// touched only on the client's I/O thread.

/// A finished PGresult, owned until the last reference goes. libpq documents PGresult as read-only after
/// creation and safe to read from any thread, so the awaiting task decodes it off the I/O thread.
final class PostgresRawResult: @unchecked Sendable {
    private let pointer: OpaquePointer?

    init(_ pointer: OpaquePointer?) {
        self.pointer = pointer
    }

    deinit {
        if let pointer { PQclear(pointer) }
    }

    func decode() -> PostgresResult {
        guard let result = pointer else { return PostgresResult(rows: [], affectedRows: 0) }
        let tag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE else {
            return PostgresResult(rows: [], affectedRows: affected, commandTag: tag)
        }
        let fieldCount = PQnfields(result)
        let rowCount = PQntuples(result)
        var names: [String] = []
        names.reserveCapacity(Int(fieldCount))
        for field in 0..<fieldCount {
            names.append(PQfname(result, field).map { String(cString: $0) } ?? "?column?")
        }
        let layout = PostgresColumnLayout(names: names)
        var rows: [PostgresRow] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(Int(fieldCount))
            for field in 0..<fieldCount {
                if PQgetisnull(result, row, field) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, field))
                    let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, field), count: length)
                    values.append(String(decoding: bytes, as: UTF8.self))
                }
            }
            rows.append(PostgresRow(layout: layout, values: values))
        }
        return PostgresResult(rows: rows, affectedRows: status == PGRES_TUPLES_OK && affected == 0 ? Int(rowCount) : affected,
                              commandTag: tag)
    }
}

/// Parameters in the form libpq wants: every value NUL-terminated in one buffer.
struct EncodedParameters: Sendable {
    var buffer: [UInt8] = [0]
    /// Offset of each value in `buffer`, or -1 for NULL.
    var offsets: [Int] = []

    var count: Int32 { Int32(offsets.count) }

    init(_ values: [PostgresValue]) throws(PostgresError) {
        offsets.reserveCapacity(values.count)
        for (position, value) in values.enumerated() {
            guard let bytes = value.textBytes else {
                offsets.append(-1)
                continue
            }
            if bytes.contains(0) {
                throw PostgresError(sqlState: "22021", message: "parameter $\(position + 1) contains a NUL byte, which PostgreSQL text cannot hold")
            }
            offsets.append(buffer.count)
            buffer.append(contentsOf: bytes)
            buffer.append(0)
        }
    }

    /// Calls `body` with libpq's `const char *const *paramValues`.
    func withValuePointers<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { $0 < 0 ? nil : base + $0 }
            return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}

typealias QueryContinuation = CheckedContinuation<Result<PostgresRawResult, PostgresError>, Never>
typealias PipelineContinuation = CheckedContinuation<Result<[PostgresRawResult], PostgresError>, Never>

/// Who learns a query's outcome.
enum QueryReply {
    case caller(QueryContinuation)
    /// A pipeline's caller: every statement's result, in order.
    case pipelineCaller(PipelineContinuation)
    /// ROLLBACK of a transaction left open when a connection went back to the pool.
    case internalRollback
    /// LISTEN/UNLISTEN statements bringing the listener connection to this channel set.
    case listenerSync(Set<String>)
    /// Already answered (timed out): the outcome is dropped.
    case none
}

/// A query accepted by the I/O thread, until it is answered.
final class PendingQuery {
    let id: UInt64
    let sql: String
    let parameters: EncodedParameters?
    /// The statements of a pipeline (`sql` and `parameters` are unused then).
    let pipeline: [EncodedStatement]?
    var reply: QueryReply
    /// Re-prepared once after "cached plan must not change result type".
    var retried = false

    init(id: UInt64, sql: String, parameters: EncodedParameters?, pipeline: [EncodedStatement]? = nil, reply: QueryReply) {
        self.id = id
        self.sql = sql
        self.parameters = parameters
        self.pipeline = pipeline
        self.reply = reply
    }
}

/// The query a connection is running.
final class RunningQuery {
    enum Stage {
        /// PQsendPrepare sent; on success the statement is cached and executed.
        case prepare(name: String)
        case execute
        /// Discarding a COPY TO STDOUT stream.
        case copyOut
        /// Reading the results of a pipeline.
        case pipeline(PipelineProgress)
    }

    let query: PendingQuery
    var stage: Stage
    /// The last result of the command (multi-statement simple queries keep the last).
    var result: PostgresRawResult?
    /// The first error of the command.
    var error: PostgresError?

    init(query: PendingQuery, stage: Stage) {
        self.query = query
        self.stage = stage
    }
}

/// One libpq connection, driven by the I/O thread.
final class PostgresConnection {
    enum Role { case pool, listener }
    enum Phase {
        case connecting(wantWrite: Bool, deadline: UInt64)
        case ready
    }

    static let maxCachedStatements = 512

    let id: Int
    let role: Role
    private(set) var pg: OpaquePointer?
    var phase: Phase
    /// The withConnection lease holding this connection, if any.
    var lease: UInt64?
    /// Running one query for the pool (client.query) until its queue drains.
    var oneShot = false
    var queue = FIFO<PendingQuery>()
    var running: RunningQuery?
    /// PQflush reported unsent data: wait for the socket to become writable.
    var needsFlush = false
    /// Prepared statements on this connection, by SQL text.
    var statements: [String: String] = [:]
    var statementCounter = 0

    init(id: Int, role: Role, pg: OpaquePointer?, deadline: UInt64) {
        self.id = id
        self.role = role
        self.pg = pg
        // libpq: just after PQconnectStart, behave as if PQconnectPoll returned PGRES_POLLING_WRITING.
        self.phase = .connecting(wantWrite: true, deadline: deadline)
    }

    deinit {
        close()
    }

    var isReady: Bool {
        if case .ready = phase { return true }
        return false
    }

    var isConnecting: Bool { !isReady }

    /// Established with nothing queued or running.
    var isIdle: Bool { isReady && running == nil && queue.isEmpty && pg != nil }

    /// A pool connection the pool may hand out.
    var isAvailable: Bool { role == .pool && isIdle && lease == nil && !oneShot }

    func close() {
        if let pg {
            PQfinish(pg)
            self.pg = nil
        }
    }

    func nextStatementName() -> String {
        statementCounter += 1
        return "spice_\(statementCounter)"
    }
}

/// A FIFO queue with O(1) removal from the front and removal by predicate for cancellation.
struct FIFO<Element> {
    private var items: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    var count: Int { items.count - head }
    var first: Element? { isEmpty ? nil : items[head] }

    mutating func append(_ element: Element) {
        items.append(element)
    }

    mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        items[head] = nil
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes and returns the first element matching `predicate`.
    mutating func remove(where predicate: (Element) -> Bool) -> Element? {
        for position in head..<items.count {
            if let element = items[position], predicate(element) {
                items.remove(at: position)
                if head == items.count {
                    items.removeAll(keepingCapacity: true)
                    head = 0
                }
                return element
            }
        }
        return nil
    }

    mutating func removeAll() -> [Element] {
        let remaining = items[head...].compactMap { $0 }
        items.removeAll()
        head = 0
        return remaining
    }

    func contains(where predicate: (Element) -> Bool) -> Bool {
        items[head...].contains { $0.map(predicate) ?? false }
    }
}

/// Monotonic clock in nanoseconds.
func postgresMonotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// An identifier for LISTEN/UNLISTEN: always quoted, so the channel name is used exactly as given.
func postgresQuoteIdentifier(_ name: String) -> String {
    var quoted = "\""
    for character in name {
        if character == "\"" { quoted.append("\"") }
        quoted.append(character)
    }
    quoted.append("\"")
    return quoted
}
