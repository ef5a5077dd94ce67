import CPostgres
import Foundation
import Glibc
import Synchronization

// One I/O thread per PostgresClient. It owns every libpq connection of the client and drives them with
// libpq's non-blocking API (PQconnectPoll, PQsend*, PQflush, PQconsumeInput, PQisBusy, PQgetResult,
// PQnotifies) from a poll() loop over their sockets plus a wake-up pipe. Tasks hand it commands through a
// mutex-protected inbox and wait on continuations it resumes exactly once. No libpq call happens on
// Swift's cooperative pool, except reading finished PGresults (which libpq allows from any thread).

enum AcquireOutcome: Sendable {
    case connection(id: Int, lease: UInt64)
    case failed(PostgresError)
    case cancelled
}

enum QueryTarget: Sendable {
    /// Any pool connection (client.query).
    case pool
    /// The connection leased to a withConnection body.
    case connection(id: Int, lease: UInt64)
}

struct PipelineSubmission: Sendable {
    let id: UInt64
    let connection: Int
    let lease: UInt64
    let statements: [EncodedStatement]
    let reply: PipelineContinuation
}

struct QuerySubmission: Sendable {
    let id: UInt64
    let target: QueryTarget
    let sql: String
    let parameters: EncodedParameters?
    let timeoutNanos: UInt64?
    let reply: QueryContinuation
}

enum LoopCommand: Sendable {
    case acquire(request: UInt64, reply: CheckedContinuation<AcquireOutcome, Never>)
    case release(connection: Int, lease: UInt64)
    case query(QuerySubmission)
    case pipeline(PipelineSubmission)
    case cancel(request: UInt64)
    case subscribe(stream: UInt64, channel: String, continuation: AsyncStream<PostgresNotification>.Continuation,
                   ready: CheckedContinuation<Result<Void, PostgresError>, Never>?)
    case unsubscribe(stream: UInt64)
    case statistics(CheckedContinuation<PostgresPoolStatistics, Never>)
    case shutdown(CheckedContinuation<Void, Never>?)
    /// A job of a task that prefers this loop as its executor.
    case run(UnownedJob)

    /// Answers a command the loop will never process (it has stopped).
    func reject() {
        switch self {
        case .acquire(_, let reply):
            reply.resume(returning: .failed(.shutDown))
        case .query(let submission):
            submission.reply.resume(returning: .failure(.shutDown))
        case .pipeline(let submission):
            submission.reply.resume(returning: .failure(.shutDown))
        case .subscribe(_, _, let continuation, let ready):
            ready?.resume(returning: .failure(.shutDown))
            continuation.finish()
        case .statistics(let reply):
            reply.resume(returning: PostgresPoolStatistics(open: 0, idle: 0, connecting: 0, waiting: 0, listenerConnected: false))
        case .shutdown(let reply):
            reply?.resume()
        case .run(let job):
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        case .release, .cancel, .unsubscribe:
            break
        }
    }
}

/// The thread-safe face of the I/O thread: the inbox, the wake-up pipe, request ids.
final class PostgresIOLoop: TaskExecutor, Sendable {
    private struct Inbox {
        var commands: [LoopCommand] = []
        var wakePending = false
        var closed = false
    }

    let configuration: PostgresConfiguration
    private let inbox = Mutex(Inbox())
    private let ids = Atomic<UInt64>(0)
    /// pthread_self() of the I/O thread (0 until it runs): what it submits itself needs no wake-up.
    private let loopThread = Atomic<UInt>(0)
    let wakeRead: Int32
    private let wakeWrite: Int32

    init(configuration: PostgresConfiguration) {
        self.configuration = configuration
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        if wakeRead < 0 {
            // Out of file descriptors: a client that answers every call with an error.
            inbox.withLock { $0.closed = true }
            return
        }
        let thread = Thread { [self] in
            loopThread.store(pthread_self(), ordering: .releasing)
            PostgresLoopThread(loop: self).run()
            loopThread.store(0, ordering: .releasing)
        }
        thread.name = "postgres-io"
        thread.start()
    }

    deinit {
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }

    /// TaskExecutor: the job runs on the I/O thread between two rounds of socket work. Once the loop has
    /// stopped, jobs go to the global executor, so a task that prefers this loop still finishes.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !submit(.run(job)) {
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }

    func nextID() -> UInt64 {
        ids.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Hands a command to the I/O thread. False if the loop has stopped (the caller answers it).
    func submit(_ command: LoopCommand) -> Bool {
        // The I/O thread itself (a job running on it) needs no wake-up: it looks at the inbox before polling.
        let onLoopThread = isCurrentThread
        let (accepted, wake) = inbox.withLock { inbox -> (Bool, Bool) in
            if inbox.closed { return (false, false) }
            inbox.commands.append(command)
            if inbox.wakePending || onLoopThread { return (true, false) }
            inbox.wakePending = true
            return (true, true)
        }
        if wake {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
        return accepted
    }

    /// I/O thread: the commands handed in since the last call.
    func takeCommands() -> [LoopCommand] {
        inbox.withLock { inbox in
            inbox.wakePending = false
            if inbox.commands.isEmpty { return [] }
            let commands = inbox.commands
            inbox.commands.removeAll(keepingCapacity: true)
            return commands
        }
    }

    /// Whether the caller runs on the I/O thread (a job of a task that prefers this loop).
    var isCurrentThread: Bool {
        loopThread.load(ordering: .acquiring) == pthread_self()
    }

    /// I/O thread: whether commands wait in the inbox (then it must not block in poll).
    var hasCommands: Bool {
        inbox.withLock { !$0.commands.isEmpty }
    }

    /// I/O thread: empties the wake-up pipe (before takeCommands, so no wake-up is lost).
    func drainWakeups() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }

    /// I/O thread, on exit: refuses further commands and returns those not yet taken.
    func closeInbox() -> [LoopCommand] {
        inbox.withLock { inbox in
            inbox.closed = true
            let commands = inbox.commands
            inbox.commands = []
            return commands
        }
    }

    // MARK: task-side operations

    func query(_ sql: String, _ parameters: [PostgresValue], target: QueryTarget,
               timeoutNanos: UInt64? = nil) async throws(PostgresError) -> PostgresResult {
        let encoded = parameters.isEmpty ? nil : try EncodedParameters(parameters)
        let id = nextID()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: QueryContinuation) in
                let submission = QuerySubmission(id: id, target: target, sql: sql, parameters: encoded,
                                                 timeoutNanos: timeoutNanos, reply: continuation)
                if !submit(.query(submission)) {
                    continuation.resume(returning: .failure(.shutDown))
                }
            }
        } onCancel: {
            _ = self.submit(.cancel(request: id))
        }
        return try outcome.get().decode()
    }

    /// Runs `statements` as one pipeline on a leased connection: one round trip, results in order. The first
    /// failing statement's error is thrown; the server skipped the statements after it.
    func pipeline(_ statements: [PostgresStatement], connection: Int, lease: UInt64) async throws(PostgresError) -> [PostgresResult] {
        var encoded: [EncodedStatement] = []
        encoded.reserveCapacity(statements.count)
        for statement in statements {
            encoded.append(EncodedStatement(sql: statement.sql, parameters: try EncodedParameters(statement.parameters)))
        }
        let id = nextID()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: PipelineContinuation) in
                let submission = PipelineSubmission(id: id, connection: connection, lease: lease, statements: encoded,
                                                    reply: continuation)
                if !submit(.pipeline(submission)) {
                    continuation.resume(returning: .failure(.shutDown))
                }
            }
        } onCancel: {
            _ = self.submit(.cancel(request: id))
        }
        return try outcome.get().map { $0.decode() }
    }

    func acquire() async throws -> (connection: Int, lease: UInt64) {
        let id = nextID()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<AcquireOutcome, Never>) in
                if !submit(.acquire(request: id, reply: continuation)) {
                    continuation.resume(returning: .failed(.shutDown))
                }
            }
        } onCancel: {
            _ = self.submit(.cancel(request: id))
        }
        switch outcome {
        case .connection(let connection, let lease): return (connection, lease)
        case .failed(let error): throw error
        case .cancelled: throw CancellationError()
        }
    }

    func release(connection: Int, lease: UInt64) {
        _ = submit(.release(connection: connection, lease: lease))
    }

    private func makeSubscription(_ channel: String) -> (UInt64, AsyncStream<PostgresNotification>, AsyncStream<PostgresNotification>.Continuation) {
        let id = nextID()
        let (stream, continuation) = AsyncStream.makeStream(of: PostgresNotification.self, bufferingPolicy: .unbounded)
        continuation.onTermination = { [self] _ in
            _ = self.submit(.unsubscribe(stream: id))
        }
        return (id, stream, continuation)
    }

    func listen(_ channel: String) -> AsyncStream<PostgresNotification> {
        let (id, stream, continuation) = makeSubscription(channel)
        if !submit(.subscribe(stream: id, channel: channel, continuation: continuation, ready: nil)) {
            continuation.finish()
        }
        return stream
    }

    func subscribe(_ channel: String) async throws(PostgresError) -> AsyncStream<PostgresNotification> {
        let (id, stream, continuation) = makeSubscription(channel)
        let outcome = await withCheckedContinuation { (ready: CheckedContinuation<Result<Void, PostgresError>, Never>) in
            if !submit(.subscribe(stream: id, channel: channel, continuation: continuation, ready: ready)) {
                ready.resume(returning: .failure(.shutDown))
                continuation.finish()
            }
        }
        if case .failure(let error) = outcome {
            continuation.finish()
            throw error
        }
        return stream
    }

    func statistics() async -> PostgresPoolStatistics {
        await withCheckedContinuation { (continuation: CheckedContinuation<PostgresPoolStatistics, Never>) in
            let command = LoopCommand.statistics(continuation)
            if !submit(command) { command.reject() }
        }
    }

    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !submit(.shutdown(continuation)) { continuation.resume() }
        }
    }

    /// Stops the I/O thread without waiting (client deinit).
    func requestShutdown() {
        _ = submit(.shutdown(nil))
    }
}

/// The I/O thread's state. Created on, and touched only by, that thread.
final class PostgresLoopThread {
    private struct Subscriber {
        let channel: String
        let continuation: AsyncStream<PostgresNotification>.Continuation
        /// The listener connection was lost since this subscriber last heard: yield `.reconnected`.
        var owesReconnect = false
    }

    private enum Waiter {
        case acquire(id: UInt64, reply: CheckedContinuation<AcquireOutcome, Never>)
        case query(PendingQuery)

        var id: UInt64 {
            switch self {
            case .acquire(let id, _): return id
            case .query(let query): return query.id
            }
        }
    }

    private let loop: PostgresIOLoop
    private let configuration: PostgresConfiguration
    private let connectTimeout: UInt64
    private var now: UInt64 = postgresMonotonicNanos()

    private var connections: [Int: PostgresConnection] = [:]
    private var nextConnectionID = 1
    private var waiters = FIFO<Waiter>()
    /// Deadlines of queries submitted with a timeout, by request id.
    private var timers: [UInt64: UInt64] = [:]

    // LISTEN state: one shared connection for every channel of the client.
    private var subscribers: [UInt64: Subscriber] = [:]
    private var subscribersByChannel: [String: Set<UInt64>] = [:]
    private var readyWaiters: [(stream: UInt64, channel: String, reply: CheckedContinuation<Result<Void, PostgresError>, Never>)] = []
    private var listenerID: Int?
    private var serverChannels: Set<String> = []
    private var listenerSyncInFlight = false
    private var failedListenerSync: Set<String>?
    private var listenerReconnectAt: UInt64 = 0
    private var listenerBackoff: UInt64 = 0

    private var stopping = false
    private var shutdownReplies: [CheckedContinuation<Void, Never>] = []

    init(loop: PostgresIOLoop) {
        self.loop = loop
        self.configuration = loop.configuration
        self.connectTimeout = UInt64(max(1, configuration.connectTimeoutSeconds)) * 1_000_000_000
    }

    // MARK: the loop

    func run() {
        var fds: [pollfd] = []
        var owners: [Int] = []
        while true {
            now = postgresMonotonicNanos()
            for command in loop.takeCommands() {
                handle(command)
            }
            if stopping { break }
            fireTimers()
            maintainListener()
            pump()

            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: loop.wakeRead, events: Int16(POLLIN), revents: 0))
            owners.append(0)
            for connection in connections.values {
                guard let pg = connection.pg else { continue }
                let socket = PQsocket(pg)
                guard socket >= 0 else { continue }
                let events: Int32
                switch connection.phase {
                case .connecting(let wantWrite, _):
                    events = wantWrite ? Int32(POLLOUT) : Int32(POLLIN)
                case .ready:
                    events = Int32(POLLIN) | (connection.needsFlush ? Int32(POLLOUT) : 0)
                }
                fds.append(pollfd(fd: socket, events: Int16(events), revents: 0))
                owners.append(connection.id)
            }
            let ready = poll(&fds, nfds_t(fds.count), loop.hasCommands ? 0 : pollTimeout())
            now = postgresMonotonicNanos()
            if ready <= 0 { continue }
            if fds[0].revents != 0 { loop.drainWakeups() }
            for position in 1..<fds.count where fds[position].revents != 0 {
                guard let connection = connections[owners[position]] else { continue }
                socketEvent(connection, revents: Int32(fds[position].revents))
            }
        }
        finishShutdown()
    }

    /// Milliseconds until the next deadline (timer, connect timeout, listener reconnect), or -1.
    private func pollTimeout() -> Int32 {
        var next = UInt64.max
        for deadline in timers.values { next = min(next, deadline) }
        for connection in connections.values {
            if case .connecting(_, let deadline) = connection.phase { next = min(next, deadline) }
        }
        if listenerID == nil, !subscribers.isEmpty { next = min(next, listenerReconnectAt) }
        if next == .max { return -1 }
        if next <= now { return 0 }
        let milliseconds = (next - now + 999_999) / 1_000_000
        return Int32(min(milliseconds, 60_000))
    }

    private func handle(_ command: LoopCommand) {
        switch command {
        case .acquire(let id, let reply):
            waiters.append(.acquire(id: id, reply: reply))

        case .release(let id, let lease):
            guard let connection = connections[id], connection.lease == lease else { return }
            connection.lease = nil
            if let pg = connection.pg, connection.isReady {
                let status = PQtransactionStatus(pg)
                if status == PQTRANS_INTRANS || status == PQTRANS_INERROR {
                    connection.queue.append(PendingQuery(id: 0, sql: "ROLLBACK", parameters: nil, reply: .internalRollback))
                    startNext(connection)
                }
            }

        case .query(let submission):
            let query = PendingQuery(id: submission.id, sql: submission.sql, parameters: submission.parameters,
                                     reply: .caller(submission.reply))
            if let timeout = submission.timeoutNanos { timers[query.id] = now + timeout }
            switch submission.target {
            case .pool:
                waiters.append(.query(query))
            case .connection(let id, let lease):
                enqueue(query, connection: id, lease: lease)
            }

        case .pipeline(let submission):
            let query = PendingQuery(id: submission.id, sql: "", parameters: nil, pipeline: submission.statements,
                                     reply: .pipelineCaller(submission.reply))
            enqueue(query, connection: submission.connection, lease: submission.lease)

        case .cancel(let id):
            cancel(id)

        case .subscribe(let stream, let channel, let continuation, let ready):
            subscribers[stream] = Subscriber(channel: channel, continuation: continuation)
            subscribersByChannel[channel, default: []].insert(stream)
            if let ready { readyWaiters.append((stream, channel, ready)) }

        case .unsubscribe(let stream):
            guard let subscriber = subscribers.removeValue(forKey: stream) else { return }
            subscribersByChannel[subscriber.channel]?.remove(stream)
            if subscribersByChannel[subscriber.channel]?.isEmpty == true {
                subscribersByChannel[subscriber.channel] = nil
            }
            readyWaiters.removeAll { waiter in
                guard waiter.stream == stream else { return false }
                waiter.reply.resume(returning: .failure(PostgresError(message: "the notification stream was terminated")))
                return true
            }

        case .statistics(let reply):
            let pool = connections.values.filter { $0.role == .pool }
            reply.resume(returning: PostgresPoolStatistics(
                open: pool.filter(\.isReady).count,
                idle: pool.filter(\.isAvailable).count,
                connecting: pool.filter(\.isConnecting).count,
                waiting: waiters.count,
                listenerConnected: listenerID.flatMap { connections[$0] }?.isReady ?? false))

        case .shutdown(let reply):
            stopping = true
            if let reply { shutdownReplies.append(reply) }

        case .run(let job):
            job.runSynchronously(on: loop.asUnownedTaskExecutor())
        }
    }

    /// Queues a query on the connection leased to a withConnection body.
    private func enqueue(_ query: PendingQuery, connection id: Int, lease: UInt64) {
        guard let connection = connections[id] else {
            complete(query, .failure(PostgresError(message: "the connection was lost", isConnectionFailure: true)))
            return
        }
        guard connection.lease == lease else {
            complete(query, .failure(PostgresError(message: "a connection handle was used outside its withConnection/transaction body")))
            return
        }
        connection.queue.append(query)
        startNext(connection)
    }

    // MARK: answering

    private func complete(_ query: PendingQuery, _ outcome: Result<PostgresRawResult, PostgresError>) {
        complete(query, all: outcome.map { [$0] })
    }

    /// Answers a query with every result it produced (one, except for a pipeline).
    private func complete(_ query: PendingQuery, all outcome: Result<[PostgresRawResult], PostgresError>) {
        timers[query.id] = nil
        let reply = query.reply
        query.reply = .none
        let last = outcome.map { $0.last ?? PostgresRawResult(nil) }
        switch reply {
        case .caller(let continuation):
            continuation.resume(returning: last)
        case .pipelineCaller(let continuation):
            continuation.resume(returning: outcome)
        case .listenerSync(let channels):
            listenerSyncFinished(channels, last)
        case .internalRollback, .none:
            break
        }
    }

    private func fail(_ waiter: Waiter, _ error: PostgresError) {
        switch waiter {
        case .acquire(_, let reply):
            reply.resume(returning: .failed(error))
        case .query(let query):
            complete(query, .failure(error))
        }
    }

    /// Cancellation reaches only what has not started: a query or withConnection waiting for a connection,
    /// or a query queued behind another on a leased connection. A running query finishes normally.
    private func cancel(_ id: UInt64) {
        if let waiter = waiters.remove(where: { $0.id == id }) {
            switch waiter {
            case .acquire(_, let reply):
                reply.resume(returning: .cancelled)
            case .query(let query):
                complete(query, .failure(PostgresError(sqlState: PostgresError.queryCanceled,
                                                       message: "canceled while waiting for a connection")))
            }
            return
        }
        for connection in connections.values {
            if let query = connection.queue.remove(where: { $0.id == id }) {
                complete(query, .failure(PostgresError(sqlState: PostgresError.queryCanceled, message: "canceled before it was sent")))
                return
            }
        }
    }

    private func fireTimers() {
        let expired = timers.filter { $0.value <= now }.map(\.key)
        for id in expired {
            timers[id] = nil
            let error = PostgresError(message: "no answer from PostgreSQL within \(configuration.connectTimeoutSeconds) s",
                                      isConnectionFailure: true)
            if let waiter = waiters.remove(where: { $0.id == id }) {
                fail(waiter, error)
                continue
            }
            for connection in connections.values {
                if let query = connection.queue.remove(where: { $0.id == id }) {
                    complete(query, .failure(error))
                    break
                }
                if let running = connection.running, running.query.id == id {
                    // Answer now; the query's outcome is dropped when it arrives.
                    complete(running.query, .failure(error))
                    break
                }
            }
        }
        let timedOut = connections.values.filter { connection in
            if case .connecting(_, let deadline) = connection.phase { return deadline <= now }
            return false
        }
        for connection in timedOut {
            connectFailed(connection, PostgresError(
                message: "could not connect to PostgreSQL within \(configuration.connectTimeoutSeconds) s",
                isConnectionFailure: true))
        }
    }

    // MARK: the pool

    /// Hands free connections to waiters in FIFO order and opens connections for the rest.
    private func pump() {
        while let waiter = waiters.first {
            guard let connection = connections.values.first(where: \.isAvailable) else { break }
            _ = waiters.popFirst()
            switch waiter {
            case .acquire(let id, let reply):
                connection.lease = id
                reply.resume(returning: .connection(id: connection.id, lease: id))
            case .query(let query):
                connection.oneShot = true
                connection.queue.append(query)
                startNext(connection)
            }
        }
        guard !waiters.isEmpty else { return }
        let pool = connections.values.filter { $0.role == .pool }
        var missing = min(waiters.count - pool.filter(\.isConnecting).count, max(1, configuration.poolSize) - pool.count)
        while missing > 0, !waiters.isEmpty {
            startConnect(role: .pool)
            missing -= 1
        }
    }

    @discardableResult
    private func startConnect(role: PostgresConnection.Role) -> Int {
        let id = nextConnectionID
        nextConnectionID += 1
        // Defaults first: later keywords win, so the URL (dbname, expanded) may override any of them.
        // TCP keepalives and tcp_user_timeout make a silently vanished server fail queries (as a connection
        // failure) instead of leaving them waiting on a dead socket.
        let keywords = ["gssencmode", "fallback_application_name", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "options", "dbname"]
        let values = ["disable", "spice-harvester", "30", "10", "3", "30000", configuration.optionsKeyword, configuration.url]
        let pg = withCStringArray(keywords) { keywords in
            withCStringArray(values) { values in
                PQconnectStartParams(keywords, values, 1)
            }
        }
        let connection = PostgresConnection(id: id, role: role, pg: pg, deadline: now + connectTimeout)
        connections[id] = connection
        if role == .listener { listenerID = id }
        guard let pg, PQstatus(pg) != CONNECTION_BAD else {
            connectFailed(connection, connectionError(pg, fallback: "could not start a connection to PostgreSQL"))
            return id
        }
        PQsetNoticeProcessor(pg, { _, _ in }, nil)
        return id
    }

    private func continueConnect(_ connection: PostgresConnection) {
        guard let pg = connection.pg, case .connecting(_, let deadline) = connection.phase else { return }
        switch PQconnectPoll(pg) {
        case PGRES_POLLING_READING:
            connection.phase = .connecting(wantWrite: false, deadline: deadline)
        case PGRES_POLLING_WRITING:
            connection.phase = .connecting(wantWrite: true, deadline: deadline)
        case PGRES_POLLING_OK:
            guard PQsetnonblocking(pg, 1) == 0 else {
                connectFailed(connection, connectionError(pg, fallback: "could not make the connection non-blocking"))
                return
            }
            connection.phase = .ready
        default:
            connectFailed(connection, connectionError(pg, fallback: "could not connect to PostgreSQL"))
        }
    }

    private func connectFailed(_ connection: PostgresConnection, _ error: PostgresError) {
        connections[connection.id] = nil
        connection.close()
        switch connection.role {
        case .pool:
            // Nothing established to wait for: the server is unreachable, tell everyone waiting. Otherwise
            // the waiter that asked for this connection fails and the rest wait for the open ones.
            if connections.values.contains(where: { $0.role == .pool && $0.isReady }) {
                if let waiter = waiters.popFirst() { fail(waiter, error) }
            } else {
                for waiter in waiters.removeAll() { fail(waiter, error) }
            }
        case .listener:
            if listenerID == connection.id { listenerID = nil }
            scheduleListenerReconnect()
            for waiter in readyWaiters { waiter.reply.resume(returning: .failure(error)) }
            readyWaiters.removeAll()
        }
    }

    /// Discards a connection that failed, answering everything queued on it.
    private func discard(_ connection: PostgresConnection, _ error: PostgresError) {
        connections[connection.id] = nil
        let running = connection.running
        connection.running = nil
        let queued = connection.queue.removeAll()
        connection.close()
        if let running { complete(running.query, .failure(error)) }
        for query in queued { complete(query, .failure(error)) }
        if connection.role == .listener, listenerID == connection.id {
            listenerLost()
        }
    }

    // MARK: queries

    private func startNext(_ connection: PostgresConnection) {
        guard connection.isReady, connection.running == nil, connection.pg != nil else { return }
        guard let query = connection.queue.popFirst() else {
            connection.oneShot = false
            return
        }
        send(query, on: connection)
    }

    private func send(_ query: PendingQuery, on connection: PostgresConnection) {
        guard let pg = connection.pg else { return }
        if let statements = query.pipeline {
            guard let progress = PipelineProgress.send(statements, on: connection) else {
                sendFailed(query, on: connection)
                return
            }
            connection.running = RunningQuery(query: query, stage: .pipeline(progress))
            flush(connection)
            return
        }
        let stage: RunningQuery.Stage
        let sent: Int32
        if let parameters = query.parameters {
            if let name = connection.statements[query.sql] {
                stage = .execute
                sent = parameters.withValuePointers { PQsendQueryPrepared(pg, name, parameters.count, $0, nil, nil, 0) }
            } else if connection.statements.count < PostgresConnection.maxCachedStatements {
                let name = connection.nextStatementName()
                stage = .prepare(name: name)
                sent = PQsendPrepare(pg, name, query.sql, parameters.count, nil)
            } else {
                stage = .execute
                sent = parameters.withValuePointers { PQsendQueryParams(pg, query.sql, parameters.count, nil, $0, nil, nil, 0) }
            }
        } else {
            stage = .execute
            sent = PQsendQuery(pg, query.sql)
        }
        guard sent == 1 else {
            sendFailed(query, on: connection)
            return
        }
        connection.running = RunningQuery(query: query, stage: stage)
        flush(connection)
    }

    private func sendFailed(_ query: PendingQuery, on connection: PostgresConnection) {
        let pg = connection.pg
        let error = connectionError(pg, fallback: "could not send the query")
        connection.running = nil
        if pg == nil || PQstatus(pg) == CONNECTION_BAD {
            complete(query, .failure(error))
            discard(connection, error)
        } else {
            complete(query, .failure(PostgresError(message: error.message)))
            startNext(connection)
        }
    }

    /// PQflush; false if the connection failed (and was discarded).
    @discardableResult
    private func flush(_ connection: PostgresConnection) -> Bool {
        guard let pg = connection.pg else { return false }
        switch PQflush(pg) {
        case 0:
            connection.needsFlush = false
            return true
        case 1:
            connection.needsFlush = true
            return true
        default:
            discard(connection, connectionError(pg, fallback: "could not send data to PostgreSQL"))
            return false
        }
    }

    private func socketEvent(_ connection: PostgresConnection, revents: Int32) {
        guard case .ready = connection.phase else {
            continueConnect(connection)
            return
        }
        guard let pg = connection.pg else { return }
        if revents & Int32(POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0 {
            if PQconsumeInput(pg) == 0 {
                discard(connection, connectionError(pg, fallback: "the connection to PostgreSQL was lost"))
                return
            }
        }
        if connection.needsFlush {
            guard flush(connection) else { return }
        }
        deliverNotifications(connection, pg)
        if connection.running != nil {
            readResults(connection, pg)
        } else if PQstatus(pg) == CONNECTION_BAD {
            discard(connection, connectionError(pg, fallback: "the connection to PostgreSQL was lost"))
        }
    }

    private func readResults(_ connection: PostgresConnection, _ pg: OpaquePointer) {
        guard let running = connection.running else { return }
        if case .pipeline(let progress) = running.stage {
            guard case .finished = progress.read(pg, connection: connection, serverError: { serverError($0, pg) }) else { return }
            connection.running = nil
            if let error = progress.error {
                complete(running.query, all: .failure(error))
            } else {
                complete(running.query, all: .success(progress.results.map { $0 ?? PostgresRawResult(nil) }))
            }
            if PQstatus(pg) == CONNECTION_BAD {
                discard(connection, connectionError(pg, fallback: "the connection to PostgreSQL was lost"))
            } else {
                startNext(connection)
            }
            return
        }
        if case .copyOut = running.stage {
            guard discardCopyData(pg) else { return }
            running.stage = .execute
        }
        while PQisBusy(pg) == 0 {
            guard let result = PQgetResult(pg) else {
                commandFinished(connection, running, pg)
                return
            }
            let status = PQresultStatus(result)
            switch status {
            case PGRES_FATAL_ERROR, PGRES_BAD_RESPONSE:
                if running.error == nil { running.error = serverError(result, pg) }
                PQclear(result)
            case PGRES_NONFATAL_ERROR:
                PQclear(result)
            case PGRES_COPY_IN, PGRES_COPY_BOTH:
                PQclear(result)
                _ = PQputCopyEnd(pg, "COPY FROM STDIN is not supported by this driver")
                guard flush(connection) else { return }
            case PGRES_COPY_OUT:
                PQclear(result)
                running.stage = .copyOut
                guard discardCopyData(pg) else { return }
                running.stage = .execute
            default:
                running.result = PostgresRawResult(result)
            }
        }
    }

    /// Reads and drops COPY TO STDOUT rows; true when the copy has ended.
    private func discardCopyData(_ pg: OpaquePointer) -> Bool {
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(pg, &buffer, 1)
            if let buffer { PQfreemem(buffer) }
            if length > 0 { continue }
            return length != 0
        }
    }

    /// All results of the command sent have arrived (PQgetResult returned NULL).
    private func commandFinished(_ connection: PostgresConnection, _ running: RunningQuery, _ pg: OpaquePointer) {
        let query = running.query
        let broken = PQstatus(pg) == CONNECTION_BAD
        if case .prepare(let name) = running.stage, running.error == nil, !broken, let parameters = query.parameters {
            connection.statements[query.sql] = name
            running.stage = .execute
            running.result = nil
            let sent = parameters.withValuePointers { PQsendQueryPrepared(pg, name, parameters.count, $0, nil, nil, 0) }
            guard sent == 1 else {
                sendFailed(query, on: connection)
                return
            }
            flush(connection)
            return
        }
        connection.running = nil
        if var error = running.error {
            let planChanged = error.sqlState == "0A000" && error.message.contains("cached plan")
            let statementGone = error.sqlState == "26000" // DEALLOCATE ALL / DISCARD ALL ran on this session
            if (planChanged || statementGone), query.parameters != nil {
                // A table changed under a prepared statement, or the session dropped its statements: prepare
                // again. Outside a transaction the statement is simply retried; inside one the transaction
                // is already aborted, so the error goes to the caller.
                if statementGone { connection.statements = [:] } else { connection.statements[query.sql] = nil }
                if !query.retried, !broken, PQtransactionStatus(pg) == PQTRANS_IDLE {
                    query.retried = true
                    send(query, on: connection)
                    return
                }
            }
            if broken, !error.isConnectionFailure {
                error = PostgresError(sqlState: error.sqlState, message: error.message, isConnectionFailure: true,
                                      detail: error.detail, constraint: error.constraint)
            }
            complete(query, .failure(error))
        } else {
            complete(query, .success(running.result ?? PostgresRawResult(nil)))
        }
        if broken {
            discard(connection, connectionError(pg, fallback: "the connection to PostgreSQL was lost"))
        } else {
            startNext(connection)
        }
    }

    // MARK: errors

    private static let connectionFailureStates: Set<String> = [
        "08000", "08001", "08003", "08004", "08006", // connection exceptions (not 08P01 protocol_violation)
        "57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
    ]

    private func serverError(_ result: OpaquePointer, _ pg: OpaquePointer) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
        }
        let sqlState = field(UInt8(ascii: "C"))
        let message = field(UInt8(ascii: "M"))
            ?? PQresultErrorMessage(result).map { postgresTrimmed(String(cString: $0)) } ?? "unknown error"
        let failure = PQstatus(pg) == CONNECTION_BAD || sqlState.map { Self.connectionFailureStates.contains($0) } ?? false
        return PostgresError(sqlState: sqlState, message: message, isConnectionFailure: failure,
                             detail: field(UInt8(ascii: "D")), constraint: field(UInt8(ascii: "n")))
    }

    private func connectionError(_ pg: OpaquePointer?, fallback: String) -> PostgresError {
        // libpq's messages span lines ("FATAL: ...\nserver closed the connection unexpectedly\n\t...").
        var message = pg.flatMap { PQerrorMessage($0) }
            .map { String(cString: $0).split(whereSeparator: \.isWhitespace).joined(separator: " ") } ?? ""
        if message.isEmpty { message = fallback }
        return PostgresError(message: message, isConnectionFailure: true)
    }

    // MARK: LISTEN / NOTIFY

    private func deliverNotifications(_ connection: PostgresConnection, _ pg: OpaquePointer) {
        while let notification = PQnotifies(pg) {
            if connection.role == .listener {
                let channel = String(cString: notification.pointee.relname)
                let payload = notification.pointee.extra.map { String(cString: $0) } ?? ""
                for stream in subscribersByChannel[channel] ?? [] {
                    subscribers[stream]?.continuation.yield(.message(channel: channel, payload: payload))
                }
            }
            PQfreemem(notification)
        }
    }

    /// Opens, syncs (LISTEN/UNLISTEN) or closes the listener connection to match the subscribers.
    private func maintainListener() {
        let desired = Set(subscribersByChannel.keys)
        if desired.isEmpty {
            if let id = listenerID, let connection = connections[id] {
                listenerID = nil
                discard(connection, PostgresError(message: "no more listeners"))
            }
            listenerID = nil
            serverChannels = []
            listenerSyncInFlight = false
            listenerBackoff = 0
            listenerReconnectAt = 0
            failedListenerSync = nil
            return
        }
        guard let id = listenerID, let connection = connections[id] else {
            listenerID = nil
            if now >= listenerReconnectAt { startConnect(role: .listener) }
            return
        }
        guard connection.isReady, !listenerSyncInFlight else { return }
        if desired != serverChannels, failedListenerSync != desired {
            var statements: [String] = []
            for channel in desired.subtracting(serverChannels).sorted() {
                statements.append("LISTEN \(postgresQuoteIdentifier(channel))")
            }
            for channel in serverChannels.subtracting(desired).sorted() {
                statements.append("UNLISTEN \(postgresQuoteIdentifier(channel))")
            }
            listenerSyncInFlight = true
            connection.queue.append(PendingQuery(id: 0, sql: statements.joined(separator: "; "), parameters: nil,
                                                 reply: .listenerSync(desired)))
            startNext(connection)
            return
        }
        // In effect: answer subscribe() calls, tell streams that lived through a reconnect.
        readyWaiters.removeAll { waiter in
            guard serverChannels.contains(waiter.channel) else { return false }
            waiter.reply.resume(returning: .success(()))
            return true
        }
        for (stream, subscriber) in subscribers where subscriber.owesReconnect && serverChannels.contains(subscriber.channel) {
            subscribers[stream]?.owesReconnect = false
            subscriber.continuation.yield(.reconnected)
        }
    }

    private func listenerSyncFinished(_ channels: Set<String>, _ outcome: Result<PostgresRawResult, PostgresError>) {
        listenerSyncInFlight = false
        switch outcome {
        case .success:
            serverChannels = channels
            failedListenerSync = nil
            listenerBackoff = 0
        case .failure(let error):
            guard !error.isConnectionFailure else { return }
            failedListenerSync = channels
            readyWaiters.removeAll { waiter in
                guard !serverChannels.contains(waiter.channel) else { return false }
                waiter.reply.resume(returning: .failure(error))
                return true
            }
        }
    }

    private func listenerLost() {
        listenerID = nil
        serverChannels = []
        listenerSyncInFlight = false
        failedListenerSync = nil
        for stream in subscribers.keys { subscribers[stream]?.owesReconnect = true }
        scheduleListenerReconnect()
    }

    private func scheduleListenerReconnect() {
        listenerBackoff = listenerBackoff == 0 ? 50_000_000 : min(listenerBackoff * 2, 2_000_000_000)
        listenerReconnectAt = now + listenerBackoff
    }

    // MARK: shutdown

    private func finishShutdown() {
        let error = PostgresError.shutDown
        for waiter in waiters.removeAll() { fail(waiter, error) }
        for connection in Array(connections.values) { discard(connection, error) }
        connections = [:]
        for waiter in readyWaiters { waiter.reply.resume(returning: .failure(error)) }
        readyWaiters = []
        let streams = subscribers.values.map(\.continuation)
        subscribers = [:]
        subscribersByChannel = [:]
        for stream in streams { stream.finish() }
        timers = [:]
        for command in loop.closeInbox() { command.reject() }
        for reply in shutdownReplies { reply.resume() }
        shutdownReplies = []
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    pointers.append(nil)
    return body(pointers)
}

/// `text` without leading and trailing whitespace.
func postgresTrimmed<S: StringProtocol>(_ text: S) -> String {
    var characters = Substring(text)
    while let last = characters.last, last.isWhitespace { characters.removeLast() }
    while let first = characters.first, first.isWhitespace { characters.removeFirst() }
    return String(characters)
}
