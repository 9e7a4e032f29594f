// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "TranscriptVault",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tvault", targets: ["tvault"]),
        .library(name: "TranscriptVault", targets: ["TranscriptVault"]),
        .library(name: "TranscriptAPI", targets: ["TranscriptAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .target(name: "TranscriptStorage", dependencies: ["CTranscriptLMDB"]),
        .target(name: "TranscriptVault", dependencies: ["TranscriptCrypto", "TranscriptStorage"]),
        .target(name: "TranscriptAPI"),
        .executableTarget(
            name: "tvault",
            dependencies: [
                "TranscriptVault",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TranscriptCryptoTests", dependencies: ["TranscriptCrypto"]),
        .testTarget(name: "TranscriptStorageTests", dependencies: ["TranscriptStorage"]),
        .testTarget(name: "TranscriptVaultTests", dependencies: ["TranscriptVault", "TranscriptStorage", "TranscriptCrypto"]),
        .testTarget(name: "TranscriptAPITests", dependencies: ["TranscriptAPI"]),
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
