import ArgumentParser

@main
struct Spice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spice",
        abstract: "SPICE HARVESTER: an event-sourced ontology and knowledge-graph service.",
        subcommands: [Serve.self, Migrate.self, Replay.self],
        defaultSubcommand: Serve.self
    )
}
