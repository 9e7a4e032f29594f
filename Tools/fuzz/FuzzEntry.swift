// libFuzzer's entry point for the TranscriptAPI fuzz targets; built by Tools/fuzz/run together
// with the property checks in Tests/TranscriptAPITests/FuzzCorpusTests.swift.

#if FUZZ_TARGET_REQUEST
private let target = FuzzProperties.Target.request
#else
private let target = FuzzProperties.Target.json
#endif

/// Checks every property of the target for one input; a violation stops the process, so that
/// libFuzzer keeps the input as a crash artifact.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do throws(PropertyViolation) {
        try FuzzProperties.check(input, target)
    } catch {
        fatalError("\(target) property violated: \(error.description)")
    }
    return 0
}
