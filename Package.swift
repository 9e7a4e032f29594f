// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "TranscriptVault",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tvault", targets: ["tvault"]),
        .library(name: "TranscriptVault", targets: ["TranscriptVault"]),
        .library(name: "TranscriptAPI", targets: ["TranscriptAPI"]),
        .library(name: "TranscriptServer", targets: ["TranscriptServer"]),
        .library(name: "TranscriptClient", targets: ["TranscriptClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CTranscriptSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CTranscriptLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "TranscriptCrypto", dependencies: ["CTranscriptSodium"]),
        .target(name: "TranscriptStorage", dependencies: ["CTranscriptLMDB", "CTranscriptSodium"]),
        .target(name: "TranscriptVault", dependencies: ["TranscriptCrypto", "TranscriptStorage"]),
        .target(name: "TranscriptAPI"),
        .target(
            name: "TranscriptServer",
            dependencies: [
                "TranscriptVault",
                "TranscriptAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TranscriptClient",
            dependencies: [
                "TranscriptAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "tvault",
            dependencies: [
                "TranscriptVault",
                "TranscriptServer",
                "TranscriptClient",
                "TranscriptAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "tvault-bench",
            dependencies: ["TranscriptVault", "TranscriptStorage", "TranscriptCrypto"],
            path: "Tools/bench"
        ),
        .executableTarget(
            name: "tvault-load",
            dependencies: [
                "TranscriptClient",
                "TranscriptAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tools/load"
        ),
        .executableTarget(
            name: "tvault-bench-keys",
            dependencies: ["TranscriptVault", "TranscriptCrypto"],
            path: "Tools/bench-keys"
        ),
        .executableTarget(
            name: "tvault-crash",
            dependencies: ["TranscriptVault"],
            path: "Tools/crash"
        ),
        .executableTarget(name: "tvault-faults", dependencies: ["TranscriptVault"], path: "Tools/faults"),
        .target(name: "TranscriptTestSupport", path: "Tests/TranscriptTestSupport"),
        .testTarget(name: "TranscriptCryptoTests", dependencies: ["TranscriptCrypto"]),
        .testTarget(name: "TranscriptStorageTests", dependencies: ["TranscriptStorage", "CTranscriptSodium", "TranscriptTestSupport"]),
        .testTarget(name: "TranscriptVaultTests", dependencies: ["TranscriptVault", "TranscriptStorage", "TranscriptCrypto", "TranscriptTestSupport"]),
        .testTarget(name: "TranscriptAPITests", dependencies: ["TranscriptAPI"]),
        .testTarget(name: "TVaultCLITests", dependencies: ["TranscriptVault", "TranscriptStorage", "TranscriptTestSupport"]),
        .testTarget(name: "TranscriptErasureTests", dependencies: ["TranscriptVault", "TranscriptStorage", "TranscriptCrypto", "TranscriptTestSupport"]),
        .testTarget(
            name: "TranscriptServerTests",
            dependencies: [
                "TranscriptServer", "TranscriptClient", "TranscriptAPI", "TranscriptVault", "TranscriptTestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ]
)

// One settings list for every target (as swift-log does).
let sharedSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + sharedSettings
}
