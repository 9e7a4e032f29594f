import Foundation
import Glibc
import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault
import TranscriptTestSupport

/// `admin.sock`: its permissions and the admin methods the CLI uses through it.
@Suite("Admin socket")
struct AdminSocketTests {
    /// The permission bits and file type of `path`.
    static func mode(_ path: String) throws -> (permissions: mode_t, isSocket: Bool) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw HarnessError("stat \(path): \(String(cString: strerror(errno)))") }
        return (info.st_mode & 0o7777, info.st_mode & S_IFMT == S_IFSOCK)
    }

    /// Calls an admin method and returns the result object, or throws the error.
    static func call(_ admin: TranscriptClient, _ method: String, _ params: String = "{}", id: Int = 1) async throws -> JSONObject {
        let line = try await admin.sendRaw(requestLine(id: id, method, params))
        let response = try RPCResponse.decode(line)
        #expect(response.id == RPCID(Int64(id)))
        switch response.outcome {
        case .result(let node):
            return try #require(node.value.objectValue)
        case .error(let error):
            throw ClientError.server(error)
        }
    }

    static func adminError(_ admin: TranscriptClient, _ method: String, _ params: String = "{}") async throws -> RPCError {
        try errorAnswer(try await admin.sendRaw(requestLine(id: 1, method, params))).error
    }

    @Test("tvault.sock is a socket with mode 0660 and admin.sock one with mode 0600")
    func socketModes() async throws {
        try await withServer { server in
            let client = try Self.mode(server.socketPath)
            #expect(client.isSocket)
            #expect(client.permissions == 0o660)
            let admin = try Self.mode(server.adminSocketPath)
            #expect(admin.isSocket)
            #expect(admin.permissions == 0o600)
            #expect(server.socketPath == server.directory + "/tvault.sock")
            #expect(server.adminSocketPath == server.directory + "/admin.sock")
        }
    }

    @Test("the sockets are removed when the server stops")
    func socketsRemoved() async throws {
        let server = try await TestServer.start()
        try await server.shutdown()
        #expect(access(server.socketPath, F_OK) != 0)
        #expect(access(server.adminSocketPath, F_OK) != 0)
        server.vault.close()
        try? FileManager.default.removeItem(atPath: server.directory)
    }

    @Test("tenant.create, tenant.list, tenant.show, token.issue, token.list and token.revoke through admin.sock")
    func adminMethods() async throws {
        try await withServer { server in
            let admin = try await server.adminClient()

            let status = try await Self.call(admin, "status")
            #expect(status["data_dir"]?.stringValue == server.directory)
            #expect(status["tenants"]?.numberValue?.int64Value == 1)

            let created = try await Self.call(admin, "tenant.create", #"{"name":"newt"}"#)
            #expect(created["tenant"]?.stringValue == "newt")
            let listed = try await Self.call(admin, "tenant.list")
            let names = listed["tenants"]?.arrayValue?.compactMap { $0.value.objectValue?["name"]?.stringValue }
            #expect(names == ["acme", "newt"])
            let shown = try await Self.call(admin, "tenant.show", #"{"name":"newt"}"#)
            #expect(shown["name"]?.stringValue == "newt")
            #expect(shown["state"]?.stringValue == "active")

            let issued = try await Self.call(admin, "token.issue", #"{"tenants":["newt"],"scopes":["append","read"]}"#)
            let token = try #require(issued["token"]?.stringValue)
            let id = try #require(issued["id"]?.stringValue)
            #expect(token.hasPrefix("tvt_\(id)_"))

            // The new tenant and token work on the client socket at once.
            let client = try await server.client(token: token)
            _ = try await client.append(AppendParams(conversationID: "c", messages: [sampleMessage("newt", 1)]))
            #expect(try await client.readAll(conversation: "c").map(\.message) == [sampleMessage("newt", 1)])

            let tokens = try await Self.call(admin, "token.list")
            let entry = try #require(tokens["tokens"]?.arrayValue?.compactMap(\.value.objectValue).first { $0["id"]?.stringValue == id })
            #expect(entry["revoked"]?.boolValue == false)
            #expect(entry["scopes"]?.arrayValue?.compactMap(\.value.stringValue) == ["append", "read"])
            // No secret in the listing.
            #expect(!String(decoding: try await admin.sendRaw(requestLine(id: 2, "token.list")), as: UTF8.self).contains(String(token.suffix(64))))

            let revoked = try await Self.call(admin, "token.revoke", #"{"id":"\#(id)"}"#)
            #expect(revoked["revoked"]?.boolValue == true)
            // A revoked token is refused by the next auth at once.
            let fresh = try await server.connect()
            let refused = await serverError { try await fresh.auth(token: token) }
            #expect(refused?.code == RPCError.Code.unauthenticated)
            let after = try await Self.call(admin, "token.list")
            let revokedEntry = after["tokens"]?.arrayValue?.compactMap(\.value.objectValue).first { $0["id"]?.stringValue == id }
            #expect(revokedEntry?["revoked"]?.boolValue == true)

            try await fresh.close()
            try await client.close()
            try await admin.close()
        }
    }

    @Test("admin errors: duplicate tenant, bad names, unknown tenants, scopes and ids, unknown methods, bad JSON")
    func adminErrors() async throws {
        try await withServer { server in
            let admin = try await server.adminClient()
            #expect(try await Self.adminError(admin, "tenant.create", #"{"name":"acme"}"#).code == RPCError.Code.conflict)
            let badName = try await Self.adminError(admin, "tenant.create", #"{"name":"Not Valid"}"#)
            #expect(badName.code == RPCError.Code.invalidParams)
            #expect(badName.field == "name")
            #expect(try await Self.adminError(admin, "tenant.create", "{}").field == "name")
            #expect(try await Self.adminError(admin, "tenant.create", #"{"name":"x","extra":1}"#).field == "extra")
            #expect(try await Self.adminError(admin, "tenant.show", #"{"name":"ghost"}"#).code == RPCError.Code.notFound)
            #expect(try await Self.adminError(admin, "token.issue", #"{"tenants":["ghost"],"scopes":["read"]}"#).code == RPCError.Code.notFound)
            let badScope = try await Self.adminError(admin, "token.issue", #"{"tenants":["acme"],"scopes":["root"]}"#)
            #expect(badScope.code == RPCError.Code.invalidParams)
            #expect(badScope.field == "scopes")
            #expect(try await Self.adminError(admin, "token.issue", #"{"tenants":["acme"],"scopes":[]}"#).field == "scopes")
            #expect(try await Self.adminError(admin, "token.revoke", #"{"id":"AAAAAAAAAAAA"}"#).code == RPCError.Code.notFound)
            for method in ["auth", "conversation.read", "tenant.nope", "nope"] {
                #expect(try await Self.adminError(admin, method).code == RPCError.Code.methodNotFound, "\(method)")
            }
            let parse = try errorAnswer(try await admin.sendRaw(bytes(#"{"jsonrpc":"2.0","method":"status","method":"status","id":1}"#)))
            #expect(parse.error.code == RPCError.Code.parseError)
            #expect(try errorAnswer(try await admin.sendRaw(bytes("[]"))).error.code == RPCError.Code.invalidRequest)
            // Still usable after every error, and nothing was created.
            let listed = try await Self.call(admin, "tenant.list")
            #expect(listed["tenants"]?.arrayValue?.count == 1)
            try await admin.close()
        }
    }

    @Test("500 admin requests written in one go are answered in order (reading pauses and resumes)")
    func pipelinedAdminRequests() async throws {
        try await withServer { server in
            let socket = try RawSocket(path: server.adminSocketPath)
            let requests: [UInt8] = (1...500).flatMap { id -> [UInt8] in requestLine(id: id, "tenant.list") + [10] }
            let writer = Task { try await offload { try socket.write(requests) } }
            let lines = try await offload { try socket.readLines(500) }
            try await writer.value
            let responses = try lines.map { try RPCResponse.decode($0) }
            #expect(responses.map(\.id) == (1...500).map { RPCID(Int64($0)) })
            #expect(responses.allSatisfy { if case .result = $0.outcome { true } else { false } })
        }
    }

    @Test("an over-long line on admin.sock is answered with -32013 and the connection closed")
    func adminOverLongLine() async throws {
        try await withServer(configure: { $0.limits.lineBytes = 1024 }) { server in
            let admin = try await server.adminClient()
            let line = try await admin.sendRaw(bytes(#"{"jsonrpc":"2.0","method":"tenant.create","params":{"name":""# + String(repeating: "a", count: 2000) + #""},"id":1}"#))
            #expect(try errorAnswer(line).error.code == RPCError.Code.tooLarge)
            let next = try await within(5, "a call on the closed admin connection to fail") {
                (try? await admin.sendRaw(requestLine(id: 2, "status"))) == nil
            }
            #expect(next)
            let again = try await server.adminClient()
            #expect(try await Self.call(again, "tenant.list")["tenants"]?.arrayValue?.count == 1)
            try await again.close()
        }
    }
}
