import Foundation
import Testing
import TranscriptAPI
import TranscriptServer
import TranscriptTestSupport
import TranscriptVault

/// A token's burst follows its rate unless set: two seconds' worth by default, so that a low
/// rate is not drowned by a burst sized for the default rate.
@Suite("Rate limiter burst")
struct RateBurstTests {
    @Test("the default burst is two seconds of the rate, and a burst set explicitly stays")
    func configuration() throws {
        var configuration = ServerConfiguration(dataDirectory: .init(path: "/nonexistent"))
        #expect(configuration.burst == 20_000)
        configuration.limits.requestsPerSecond = 5
        #expect(configuration.burst == 10)
        configuration.burst = 3
        configuration.limits.requestsPerSecond = 50
        #expect(configuration.burst == 3)
        #expect(ServerConfiguration.defaultBurst(forRate: Int.max) == Int.max)
    }

    @Test("with only a rate of 5 set, a token gets 10 requests at once, not thousands", arguments: [nil, 4] as [Int?])
    func burstFollowsRate(burst: Int?) async throws {
        try await withServer(configure: {
            $0.limits.requestsPerSecond = 5
            if let burst { $0.burst = burst }
        }) { server in
            let expectedBurst = burst ?? 10
            let socket = try await server.authenticatedRawSocket(token: try await server.token(tenants: ["acme"]))
            var lines: [UInt8] = []
            for id in 1...100 { lines += requestLine(id: id, "conversation.list", "{}") + [10] }
            let started = Date()
            try socket.write(lines)
            let responses = try await offload { try socket.readLines(100) }
            let elapsed = Date().timeIntervalSince(started)
            var accepted = 0
            var retryAfter: [Int64] = []
            for line in responses {
                let response = try RPCResponse.decode(line)
                switch response.outcome {
                case .result: accepted += 1
                case .error(let error):
                    #expect(error.code == RPCError.Code.rateLimited)
                    retryAfter.append(try #require(error.retryAfterMs))
                }
            }
            // A token bucket admits at most its burst plus what the rate refilled meanwhile.
            #expect(accepted >= expectedBurst)
            #expect(accepted <= expectedBurst + Int((5 * elapsed).rounded(.up)), "\(accepted) passed in \(elapsed) s")
            #expect(!retryAfter.isEmpty && retryAfter.allSatisfy { $0 > 0 })
        }
    }
}
