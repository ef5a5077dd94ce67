// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: spice → Gateway → Write, Read → Core, Drivers → C system libraries.
let package = Package(
    name: "spice-harvester",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "spice", targets: ["spice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // GraphQL parsing, validation, introspection and execution for the typed query language.
        .package(url: "https://github.com/GraphQLSwift/GraphQL", from: "4.3.0"),
        // GraphQL's own dependency; named for its OrderedDictionary (GraphQL field maps and ordered results).
        .package(url: "https://github.com/apple/swift-collections", from: "1.0.0"),
    ],
    targets: [
        // System libraries from Debian, found through pkg-config. Shims hold typed wrappers for
        // variadic functions and function-like macros Swift cannot import.
        .systemLibrary(name: "CNghttp2", path: "Sources/CNghttp2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CRdKafka", path: "Sources/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),

        // Linux calls (epoll, eventfd, accept4) that Glibc's Swift overlay does not export.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),

        .target(name: "Core"),
        .target(name: "Drivers", dependencies: ["Core", "CPostgres", "CCurl", "CRdKafka", "COpenSSL"]),
        // schema/: numbered SQL migrations and the envelope's JSON Schema, shipped inside the binary's bundle.
        .target(name: "Schema", path: "schema", exclude: ["event-envelope.schema.json"],
                resources: [.copy("migrations")]),
        // At-least-once delivery shared by Write's command workers and Read's projection: the embedded bus,
        // the processed-events registry, the worker loop, dead letters and crash points.
        .target(name: "Delivery", dependencies: ["Core", "Drivers"]),
        .target(name: "Write", dependencies: ["Core", "Drivers", "Schema", "Delivery"]),
        .target(name: "Read", dependencies: ["Core", "Drivers", "Delivery",
                                            .product(name: "GraphQL", package: "GraphQL"),
                                            .product(name: "OrderedCollections", package: "swift-collections")]),
        .target(name: "Gateway", dependencies: ["Core", "Drivers", "Write", "Read", "Delivery", "CNghttp2", "COpenSSL", "CLinux"]),
        .executableTarget(name: "spice", dependencies: [
            "Gateway", "Core", "Write", "Read", "Delivery", "Drivers",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // bench/driver.sh: statement round trips through the driver, beside pgbench.
        .executableTarget(name: "spice-driver-bench", dependencies: ["Drivers"], path: "bench/driver"),

        // A fresh, migrated PostgreSQL database per test, on the cluster scripts/test.sh starts.
        .target(name: "TestSupport", dependencies: ["Drivers", "Write"], path: "Tests/TestSupport"),
        .testTarget(name: "CoreTests", dependencies: ["Core"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "Core"]),
        .testTarget(name: "DriversTests", dependencies: ["Drivers", "Core"]),
        .testTarget(name: "WriteTests", dependencies: ["Write", "Core", "Drivers", "Delivery", "Schema", "TestSupport"]),
        .testTarget(name: "DeliveryTests", dependencies: ["Delivery", "Core", "Drivers", "TestSupport"]),
        .testTarget(name: "ReadTests", dependencies: ["Read", "Core", "Drivers", "TestSupport",
                                                    .product(name: "GraphQL", package: "GraphQL")]),
        // The publisher, the bus, the runner and the workers together, in process, on real PostgreSQL.
        .testTarget(name: "PipelineTests", dependencies: ["Write", "Read", "Delivery", "Core", "Drivers", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["spice"],
                    resources: [.copy("Scripts")]),
    ],
    swiftLanguageModes: [.v6]
)
