import ArgumentParser
import Core

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations (schema/migrations) and exit. `spice serve` also does this at start.")

    func run() throws {
        let environment = EnvironmentReader(CommandEnvironment.variables())
        let config: StorageConfig
        do { config = try StorageConfig(environment) } catch { CommandEnvironment.fail("\(error)") }
        do {
            let storage = try Storage.start(config) { CommandEnvironment.log($0) }
            storage.stop()
        } catch {
            CommandEnvironment.fail("\(error)")
        }
    }
}
