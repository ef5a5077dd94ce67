import Foundation

/// A PostgreSQL cluster of one test's own (scripts/services/postgres.sh), for tests that stop and start it.
struct PrivateCluster {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-cluster-\(UUID().uuidString)").path
        guard run("start") == 0 else { throw TestServiceError.missing("cannot start a private PostgreSQL cluster in \(directory)") }
    }

    var url: String {
        (try? String(contentsOfFile: directory + "/url", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// `stop`, `start-existing` (same port and data) or `start`; returns the script's exit status.
    /// Not through Foundation's Process: PostgreSQL outlives the script, and Process then never reports the
    /// script's exit. posix_spawn + waitpid waits for exactly the script.
    @discardableResult
    func run(_ action: String) -> Int32 {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/services/postgres.sh").path
        return Spawn.run(["/bin/bash", "-c", "\"$0\" \(action) \"$1\" > \"$1.out\" 2>&1 < /dev/null", script, directory])
    }

    func remove() {
        run("stop")
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: directory + ".out")
    }
}
