// Round trips through the PostgreSQL driver, for bench/driver.sh: `SELECT $1::int` one after another from
// one task, first from Swift's global pool, then from a task that prefers the client's I/O thread as its
// executor (how spice runs its handlers and workers). Prints "<mode> <statements/s> <µs per statement>".
//
//   spice-driver-bench <postgresql-url> [statements]
import Dispatch
import Glibc
import Drivers

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: spice-driver-bench <postgresql-url> [statements]")
    exit(2)
}
let statements = arguments.count > 2 ? Int(arguments[2]) ?? 5000 : 5000
let client = PostgresClient(PostgresConfiguration(url: arguments[1], poolSize: 2))

func run(_ mode: String) async throws {
    let start = DispatchTime.now().uptimeNanoseconds
    for index in 0..<statements {
        _ = try await client.query("SELECT $1::int", [.int(Int64(index))])
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    print(mode, Int(Double(statements) / seconds), String(format: "%.1f", seconds / Double(statements) * 1e6))
}

_ = try await client.query("SELECT 1")
try await run("global-pool")
try await withTaskExecutorPreference(client.executor) {
    try await run("io-thread")
}
await client.shutdown()
