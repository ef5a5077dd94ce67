import ArgumentParser
import Core
import Glibc
import Read
import Write

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the graph and document read models from the event store.",
        discussion: """
            With no --from, every database met in the log (or only --database) is emptied when its creation is \
            replayed and rebuilt from its domain events. With --from, events from that point are applied on top \
            of the current read models (versioned writes make repeats harmless). Stop `spice serve`'s workers \
            first: a replay and live workers writing the same database at once is not supported.
            """)

    @Option(help: "Only this database.")
    var database: String?

    @Option(help: "Start at this instant (RFC 3339 date-time or milliseconds since the epoch) instead of the beginning.")
    var from: String?

    func run() throws {
        let environment = EnvironmentReader(CommandEnvironment.variables())
        let config: StorageConfig
        var start: EventStorePosition?
        do {
            config = try StorageConfig(environment)
            if let from {
                guard case .at(let milliseconds) = try PublisherStart(setting: from) else { throw ValidationError("--from") }
                start = EventStoreKeys.byDatePosition(before: milliseconds)
            }
        } catch {
            CommandEnvironment.fail("\(error)")
        }
        let storage: Storage
        do { storage = try Storage.start(config) { CommandEnvironment.log($0) } } catch { CommandEnvironment.fail("\(error)") }
        defer { storage.stop() }
        let replay = ReadModelReplay(store: storage.eventStore, graph: PostgresGraphStore(client: storage.client),
                                     documents: PostgresDocumentStore(client: storage.client))
        let options = ReadModelReplay.Options(database: database, from: start)
        let bar = ProgressBar()
        let result: ReadModelReplay.Progress
        do {
            result = try runBlocking { try await replay.run(options) { bar.show($0) } }
        } catch {
            CommandEnvironment.fail("replay failed: \(error)")
        }
        bar.finish()
        let seconds = bar.elapsedSeconds
        let types = result.byType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        CommandEnvironment.log("""
            replay done in \(String(format: "%.1f", seconds)) s: \(result.scanned) log entries scanned \
            (\(Int(Double(result.scanned) / max(seconds, 0.001))) /s), \(result.byType.values.reduce(0, +)) domain events \
            replayed (\(types.isEmpty ? "none" : types)), \(result.applied) writes applied, \(result.stale) stale, \
            \(result.skipped) entries skipped (commands\(database == nil ? "" : " and other databases"))
            """)
    }
}

/// `[=====>    ]  52%  5200/10000 entries  1830/s  ETA 3s` on stderr, redrawn at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    private let started = ProgressBar.now()
    private var lastDrawn = 0.0

    var elapsedSeconds: Double { ProgressBar.now() - started }

    func show(_ progress: ReadModelReplay.Progress) {
        let now = Self.now()
        guard now - lastDrawn >= 0.1 || progress.scanned == progress.total else { return }
        lastDrawn = now
        let total = max(progress.total, progress.scanned, 1)
        let fraction = Double(progress.scanned) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let rate = Double(progress.scanned) / max(now - started, 0.001)
        let eta = rate > 0 ? Int(Double(total - progress.scanned) / rate) : 0
        let line = "\r[\(bar)] \(String(format: "%3d", Int(fraction * 100)))%  \(progress.scanned)/\(total) entries  \(Int(rate))/s  ETA \(eta)s "
        Array(line.utf8).withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    func finish() {
        Array("\n".utf8).withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    private static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
