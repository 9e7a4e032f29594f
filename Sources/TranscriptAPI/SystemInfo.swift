/// The result of `system.info`, which needs no authentication.
///
/// ```swift
/// SystemInfo(version: "0.1.0")
/// // {"version":"0.1.0","protocol":1,"methods":["auth","system.info",…]}
/// ```
public struct SystemInfo: RPCResult, Equatable {
    /// The protocol revision this module speaks.
    public static let protocolVersion = 1

    /// The server's version.
    public let version: String
    /// The protocol revision.
    public let protocolVersion: Int
    /// The method names the server serves.
    public let methods: [String]

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - version: The server's version.
    ///   - protocolVersion: The protocol revision; defaults to this module's.
    ///   - methods: The methods served; defaults to every ``RPCMethod``.
    public init(
        version: String, protocolVersion: Int = SystemInfo.protocolVersion,
        methods: [String] = RPCMethod.allCases.map(\.rawValue)
    ) {
        self.version = version
        self.protocolVersion = protocolVersion
        self.methods = methods
    }

    /// Decodes the result from a response.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        version = try reader.required(reader.string("version"), "version")
        protocolVersion = Int(try reader.required(reader.integer("protocol", in: 0...Int64(Int32.max)), "protocol"))
        methods = try reader.required(reader.strings("methods"), "methods")
    }

    /// Writes `{"version":…,"protocol":n,"methods":[…]}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("version", version)
            writer.member("protocol", protocolVersion)
            writer.member("methods", methods)
        }
    }
}
