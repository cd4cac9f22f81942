// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "photoseal",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "photoseal", targets: ["photoseal"]),
        .library(name: "Ingest", targets: ["Ingest"]),
        .library(name: "Serve", targets: ["Serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // MARK: C libraries

        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(
            name: "CMongoc",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev", "libbson-dev"])]
        ),
        .systemLibrary(
            name: "CPostgres",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),

        // Base64 decoding with SIMD, which Swift cannot reach (see its header).
        .target(name: "CBase64"),

        // MARK: Libraries

        .target(
            name: "Crypto",
            dependencies: ["COpenSSL", "CBase64"]
        ),
        .target(
            name: "Enrich",
            resources: [.copy("Resources")]
        ),
        // The retry policy and the one retry loop, shared by the HTTP clients and the stores
        // (Store must not depend on HTTP).
        .target(
            name: "Retry"
        ),
        // libcurl's only owner: the multi engine, transport errors classified.
        .target(
            name: "HTTP",
            dependencies: [
                "CCurl", "Retry",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Store",
            dependencies: [
                "CMongoc", "CPostgres", "Crypto", "Retry",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Parquet writer (no Parquet library exists for Swift): CZstd's only owner.
        .target(
            name: "Parquet",
            dependencies: ["CZstd"]
        ),
        .target(
            name: "Ingest",
            dependencies: [
                "Crypto", "Enrich", "Store", "HTTP", "Retry", "Parquet", "CXML2", "CTurboJPEG",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        // The gallery's HTTP server: the only target that depends on an HTTP server library.
        // FlyingFox, not Hummingbird: swift-nio-extras (under HummingbirdCore) declares
        // apple/swift-crypto, whose `Crypto` target collides with ours in the package graph.
        .target(
            name: "Serve",
            dependencies: [
                "Ingest", "Crypto", "Store",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources")]
        ),

        // MARK: Executable

        .executableTarget(
            name: "photoseal",
            dependencies: [
                "Ingest", "Serve", "HTTP", "Retry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "photoseal-bench",
            dependencies: [
                "Crypto", "Enrich", "Ingest", "Store", "Serve", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/photoseal-bench"
        ),

        // MARK: Tests

        // Launchers for the Python fixture servers and the MongoDB test server, shared by the
        // test targets (only they depend on it).
        .target(
            name: "TestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "CryptoTests",
            dependencies: ["Crypto"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "EnrichTests",
            dependencies: ["Enrich", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "TestSupport"]
        ),
        .testTarget(
            name: "ParquetTests",
            dependencies: ["Parquet", "TestSupport"]
        ),
        .testTarget(
            name: "RetryTests",
            dependencies: ["Retry"]
        ),
        .testTarget(
            name: "IngestTests",
            dependencies: ["Ingest", "HTTP", "Retry", "Crypto", "Enrich", "Store", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ServeTests",
            dependencies: [
                "Serve", "Ingest", "Crypto", "Store", "HTTP", "TestSupport",
            ]
        ),
        .testTarget(
            name: "PhotosealCLITests",
            dependencies: ["photoseal", "Crypto", "TestSupport"]
        ),
    ]
)

// Every Swift target: no C type in a public signature, and the upcoming language features on.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
