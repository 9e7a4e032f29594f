import Testing
import TranscriptAPI

@Suite("RFC 3339 UTC timestamps")
struct RFC3339Tests {
    @Test("formatting writes milliseconds and Z", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
        (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
        (RFC3339.maxMilliseconds, "9999-12-31T23:59:59.999Z"),
        (RFC3339.minMilliseconds, "0000-01-01T00:00:00.000Z"),
        (Int64.max, "9999-12-31T23:59:59.999Z"),
        (Int64.min, "0000-01-01T00:00:00.000Z"),
    ])
    func format(milliseconds: Int64, text: String) {
        #expect(RFC3339.format(milliseconds: milliseconds) == text)
    }

    @Test("parsing accepts Z, fractions and lower-case t/z", arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("1970-01-01T00:00:00.5Z", 500),
        ("1970-01-01T00:00:00.123456789Z", 123),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2023-11-14t22:13:20.123z", 1_700_000_000_123),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000),
        ("0000-01-01T00:00:00Z", RFC3339.minMilliseconds),
    ])
    func parse(text: String, milliseconds: Int64) throws {
        #expect(try RFC3339.parse(text) == milliseconds)
    }

    @Test("parsing rejects everything else", arguments: [
        "", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00-05:00",
        "2026-01-01 00:00:00Z", "2026-1-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
        "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z",
        "2026-01-01T00:60:00Z", "2026-12-31T23:59:60Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z",
        "2026-01-01T00:00:00ZZ", "+2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5 Z", "２026-01-01T00:00:00Z",
    ])
    func reject(text: String) {
        #expect(throws: RFC3339.FormatError.self) { try RFC3339.parse(text) }
    }

    @Test("format and parse are inverse across eras and leap years")
    func roundTrip() throws {
        var value = RFC3339.minMilliseconds
        let step: Int64 = 7_654_321_987_651
        while value <= RFC3339.maxMilliseconds {
            #expect(try RFC3339.parse(RFC3339.format(milliseconds: value)) == value)
            value += step
        }
        #expect(try RFC3339.parse(RFC3339.format(milliseconds: RFC3339.maxMilliseconds)) == RFC3339.maxMilliseconds)
    }
}
