import CPostgres

// libpq's pipeline mode: several statements sent at once and answered in one round trip. A transaction
// that needs BEGIN, a read and the write that depends on it pays one network wait per group instead of one
// per statement. Everything here runs on the client's I/O thread.

/// One statement of a pipeline, as the caller gives it.
public struct PostgresStatement: Sendable {
    public let sql: String
    public let parameters: [PostgresValue]

    public init(_ sql: String, _ parameters: [PostgresValue] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}

/// A pipeline statement with its parameters encoded for libpq.
struct EncodedStatement: Sendable {
    let sql: String
    let parameters: EncodedParameters
}

/// The statements of a running pipeline and how far reading their results has got.
///
/// libpq answers a pipeline as a sequence: for each command sent (a Prepare for a statement not yet
/// prepared on this connection, then the Execute), its results and a NULL; after an error, one
/// PGRES_PIPELINE_ABORTED (and a NULL) for every later command; finally one PGRES_PIPELINE_SYNC.
final class PipelineProgress {
    enum Step {
        /// Preparing `sql` under a name already entered in the connection's statement cache.
        case prepare(sql: String)
        case execute(statement: Int, sql: String)
    }

    enum ReadOutcome {
        /// More results are on their way (wait for the socket).
        case waiting
        /// The sync point arrived: every command is answered.
        case finished
    }

    private let steps: [Step]
    private var position = 0
    private(set) var results: [PostgresRawResult?]
    /// The first error of the pipeline (later commands were skipped by the server).
    private(set) var error: PostgresError?

    private init(steps: [Step], statementCount: Int) {
        self.steps = steps
        self.results = Array(repeating: nil, count: statementCount)
    }

    /// Enters pipeline mode and sends every statement plus the sync point; nil when libpq refuses (the
    /// connection has failed). Statements not yet prepared on this connection are prepared in the same
    /// pipeline and entered in `cache` at once, so a statement repeated later in the pipeline reuses the name.
    static func send(_ statements: [EncodedStatement], on connection: PostgresConnection) -> PipelineProgress? {
        guard let pg = connection.pg, PQenterPipelineMode(pg) == 1 else { return nil }
        var steps: [Step] = []
        for (index, statement) in statements.enumerated() {
            let parameters = statement.parameters
            if let name = connection.statements[statement.sql] {
                guard parameters.withValuePointers({ PQsendQueryPrepared(pg, name, parameters.count, $0, nil, nil, 0) }) == 1
                else { return nil }
            } else if connection.statements.count < PostgresConnection.maxCachedStatements {
                let name = connection.nextStatementName()
                guard PQsendPrepare(pg, name, statement.sql, parameters.count, nil) == 1 else { return nil }
                connection.statements[statement.sql] = name
                steps.append(.prepare(sql: statement.sql))
                guard parameters.withValuePointers({ PQsendQueryPrepared(pg, name, parameters.count, $0, nil, nil, 0) }) == 1
                else { return nil }
            } else {
                guard parameters.withValuePointers({ PQsendQueryParams(pg, statement.sql, parameters.count, nil, $0, nil, nil, 0) }) == 1
                else { return nil }
            }
            steps.append(.execute(statement: index, sql: statement.sql))
        }
        guard PQpipelineSync(pg) == 1 else { return nil }
        return PipelineProgress(steps: steps, statementCount: statements.count)
    }

    /// Reads every result available without blocking. `serverError` turns an error result into the error
    /// the caller sees. A failed Prepare leaves the statement cache (so the next use prepares again), and so
    /// does a statement whose cached plan went stale.
    func read(_ pg: OpaquePointer, connection: PostgresConnection,
              serverError: (OpaquePointer) -> PostgresError) -> ReadOutcome {
        while PQisBusy(pg) == 0 {
            guard let result = PQgetResult(pg) else {
                position += 1   // the current command's results are complete
                continue
            }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(result)
                _ = PQexitPipelineMode(pg)
                return .finished
            }
            let step = position < steps.count ? steps[position] : nil
            switch status {
            case PGRES_FATAL_ERROR, PGRES_BAD_RESPONSE:
                let failure = serverError(result)
                PQclear(result)
                if error == nil { error = failure }
                forgetStatement(after: failure, step: step, connection: connection)
            case PGRES_PIPELINE_ABORTED, PGRES_NONFATAL_ERROR:
                PQclear(result)
            default:
                if case .execute(let statement, _)? = step {
                    results[statement] = PostgresRawResult(result)
                } else {
                    PQclear(result)
                }
            }
        }
        return .waiting
    }

    private func forgetStatement(after failure: PostgresError, step: Step?, connection: PostgresConnection) {
        if failure.sqlState == "26000" {   // the session's prepared statements are gone (DISCARD ALL)
            connection.statements = [:]
            return
        }
        switch step {
        case .prepare(let sql)?:
            connection.statements[sql] = nil
        case .execute(_, let sql)? where failure.sqlState == "0A000" && failure.message.contains("cached plan"):
            connection.statements[sql] = nil
        default:
            break
        }
    }
}
