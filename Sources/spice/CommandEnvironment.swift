import Glibc

/// Process-level helpers for the CLI: environment, logging to stderr, fatal configuration errors.
enum CommandEnvironment {
    static func variables() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    /// Operational messages go to stderr as plain lines; stdout carries the JSON access log.
    static func log(_ message: String) {
        let line = Array((message + "\n").utf8)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func fail(_ message: String) -> Never {
        log("spice: \(message)")
        exit(2)
    }
}

/// SIGINT/SIGTERM delivered synchronously: blocked in every thread and taken with sigwait.
struct ShutdownSignals {
    private var set = sigset_t()

    static func block() -> ShutdownSignals {
        var signals = ShutdownSignals()
        sigemptyset(&signals.set)
        sigaddset(&signals.set, SIGINT)
        sigaddset(&signals.set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals.set, nil)
        signal(SIGPIPE, SIG_IGN)
        return signals
    }

    func wait() -> Int32 {
        var copy = set
        var received: Int32 = 0
        sigwait(&copy, &received)
        return received
    }
}
