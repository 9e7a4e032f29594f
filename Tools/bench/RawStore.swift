import Foundation
import TranscriptCrypto
import TranscriptStorage

/// A key shared by threads (the raw baseline's single DEK).
final class SharedKey: Sendable {
    let key: SecretKey
    init(_ key: consuming SecretKey) { self.key = key }
}

/// "The limit": the same LMDB environment type, the same durable commits and the same group
/// commit as the engine, writing the same sealed bytes, minus everything the engine adds
/// (tenant and conversation lookups, keyed hashing of identifiers, key caches, time index,
/// validation, record decoding).
final class RawStore: Sendable {
    /// The database names the engine opens, so that both environments look alike.
    static let databaseNames = ["meta", "tenants", "tokens", "conversations", "messages", "subjects", "times",
                                "idempotency", "erasures", "receipts", "audit"]

    let environment: Environment
    let messages: Database
    let conversations: Database
    let dek: SharedKey

    init(path: String, durable: Bool = true, initialMapSize: Int? = nil) throws {
        var options = Environment.Options()
        options.durable = durable
        if let initialMapSize { options.initialMapSize = initialMapSize }
        environment = try Environment(path: path, databases: Self.databaseNames, options: options)
        messages = environment["messages"]
        conversations = environment["conversations"]
        dek = SharedKey(try SecretKey.random())
    }

    /// Writes `count` messages to one conversation, `chunk` per transaction (prefill for reads).
    func prefill(conversation: [UInt8], template: Payload.ConversationTemplate, message: [UInt8],
                 count: Int, chunk: Int) throws {
        var seq: UInt64 = 0
        while seq < UInt64(count) {
            let end = min(UInt64(count), seq + UInt64(chunk))
            let start = seq
            let now = WallClock.milliseconds()
            try environment.write { txn in
                for s in (start + 1)...end {
                    let value = try Payload.sealedValue(message, dek: dek.key, tenant: Payload.rawTenant,
                                                        conversation: conversation, seq: s, createdAt: now)
                    try txn.put(value, forKey: Payload.messageKey(tenant: Payload.rawTenant, conversation: conversation, seq: s),
                                in: messages)
                }
                try txn.put(template.encoded(lastSeq: end, updatedAt: now),
                            forKey: Payload.conversationKey(tenant: Payload.rawTenant, conversation: conversation),
                            in: conversations)
            }
            seq = end
        }
    }

    /// One page: a read transaction, a cursor over up to `limit` entries after `afterSeq`, and
    /// an AEAD open of each (the associated data rebuilt from the key, as the engine does).
    func readPage(conversation: [UInt8], afterSeq: UInt64, limit: Int) throws -> [(seq: UInt64, createdAt: Int64, message: [UInt8])] {
        let prefix = Payload.conversationKey(tenant: Payload.rawTenant, conversation: conversation)
        return try environment.read { txn in
            try txn.withCursor(messages) { cursor in
                var page: [(seq: UInt64, createdAt: Int64, message: [UInt8])] = []
                page.reserveCapacity(limit)
                var entry = try cursor.seek(atLeast: Payload.messageKey(
                    tenant: Payload.rawTenant, conversation: conversation, seq: afterSeq &+ 1))
                while let current = entry, current.key.hasPrefix(prefix), page.count < limit {
                    let seq = current.key[(current.key.count - 8)...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    let value = current.value
                    guard value.count > 9 + AEAD.overhead, value[0] == 1 else { throw BenchError("bad raw record") }
                    let createdAt = Int64(bitPattern: value[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                    let clear = try AEAD.open(UnsafeRawBufferPointer(rebasing: value[9...]), using: dek.key,
                                              authenticating: Payload.messageAD(
                                                tenant: Payload.rawTenant, conversation: conversation, seq: seq, createdAt: createdAt))
                    page.append((seq, createdAt, clear))
                    entry = try cursor.next()
                }
                return page
            }
        }
    }
}

/// The raw baseline's writer: one dedicated thread that takes every pending item into one
/// write transaction and one durable commit, then answers each producer, like the engine's
/// `Writer` (the same `NSCondition` hand-off, the same batch cap).
final class RawWriter: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `pending` and `closed` are touched only with
    // `condition` locked; `batches` and `items` only on the writer thread, and read after `close`.

    struct Item {
        let conversation: [UInt8]
        let template: Payload.ConversationTemplate
        let seq: UInt64
        let message: [UInt8]
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let store: RawStore
    private let condition = NSCondition()
    private var pending: [Item] = []
    private var closed = false
    private let finished = DispatchSemaphore(value: 0)
    private let maxBatch: Int
    private(set) var batches = 0

    init(store: RawStore, maxBatch: Int = 512) {
        self.store = store
        self.maxBatch = maxBatch
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "raw-writer"
        thread.start()
    }

    /// Submits one message and returns once its batch is durable.
    func append(conversation: [UInt8], template: Payload.ConversationTemplate, seq: UInt64, message: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.lock()
            if closed {
                condition.unlock()
                continuation.resume(throwing: BenchError("raw writer closed"))
                return
            }
            pending.append(Item(conversation: conversation, template: template, seq: seq, message: message,
                                continuation: continuation))
            condition.signal()
            condition.unlock()
        }
    }

    func close() {
        condition.lock()
        let wasClosed = closed
        closed = true
        condition.signal()
        condition.unlock()
        if !wasClosed { finished.wait() }
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty && closed {
                condition.unlock()
                finished.signal()
                return
            }
            let take = min(pending.count, maxBatch)
            let batch = Array(pending[0..<take])
            pending.removeFirst(take)
            condition.unlock()
            run(batch)
        }
    }

    private func run(_ batch: [Item]) {
        let store = store
        do {
            try store.environment.write { txn in
                for item in batch {
                    let now = WallClock.milliseconds()
                    let value = try Payload.sealedValue(item.message, dek: store.dek.key, tenant: Payload.rawTenant,
                                                        conversation: item.conversation, seq: item.seq, createdAt: now)
                    try txn.put(value, forKey: Payload.messageKey(tenant: Payload.rawTenant, conversation: item.conversation,
                                                                  seq: item.seq), in: store.messages)
                    try txn.put(item.template.encoded(lastSeq: item.seq, updatedAt: now),
                                forKey: Payload.conversationKey(tenant: Payload.rawTenant, conversation: item.conversation),
                                in: store.conversations)
                }
            }
            batches += 1
            for item in batch { item.continuation.resume() }
        } catch {
            for item in batch { item.continuation.resume(throwing: error) }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
