// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "trainplat",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "trainplat", targets: ["trainplat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Pure domain core: DAG specs, validation, state machines, policies. No web, no DB.
        .target(
            name: "TrainplatCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // glibc posix_spawn extensions (own session, working directory) for the local executor.
        .target(name: "CProcessSpawn"),
        // fts(3)-based tree walk for storage usage accounting (fts is not in Swift's Glibc).
        .target(name: "CFileTree"),
        // jemalloc's start-up settings for the release build (huge pages for its heaps).
        .target(name: "CAllocatorSettings"),
        // HTTP routes, Fluent models and migrations, scheduler and executors.
        .target(
            name: "TrainplatApp",
            dependencies: [
                "TrainplatCore",
                "CProcessSpawn",
                "CFileTree",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [
                .copy("Demo/Resources/demo-pipeline.yaml"),
                .copy("HTTP/Resources/openapi.json"),
                .copy("HTTP/Resources/docs.html"),
            ]
        ),
        .executableTarget(
            name: "trainplat",
            dependencies: [
                "TrainplatApp",
                "CAllocatorSettings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Yams: the spec composer's tests compare it with Yams' composer.
        .testTarget(name: "TrainplatCoreTests", dependencies: ["TrainplatCore", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "TrainplatAppTests",
            dependencies: [
                "TrainplatApp",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
