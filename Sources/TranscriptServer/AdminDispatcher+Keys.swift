import TranscriptAPI
import TranscriptVault

extension AdminDispatcher {
    /// Key rotation, shredding and retention methods.
    ///
    /// Run in-process by the CLI (no server), a shred is followed at once by its erasure epoch,
    /// since no scheduler is there to run it later; in a server, the scheduler batches epochs
    /// unless `wait` asks for it now.
    ///
    /// - Returns: the result object's bytes, or `nil` when `method` is not one of them.
    func runKeys(method: String, params reader: AdminParams) async throws -> [UInt8]? {
        var out = JSONWriter()
        switch method {
        case "key.rotate":
            try reader.allow(["tenant"])
            let rotation = try await vault.rotateTenantKEK(try reader.string("tenant"), progress: progress)
            out.object { w in
                w.member("tenant", rotation.tenant)
                w.member("kek_version", Int(rotation.version))
                w.member("rewrapped", rotation.rewrapped)
                w.key("destroyed")
                w.array { w in for version in rotation.destroyed { w.number(Int(version)) } }
            }
        case "key.rotate_root":
            try reader.allow([])
            let epoch = try await vault.rotateRoot()
            out.object { $0.member("epoch", Int64(epoch)) }
        case "erasure.run":
            try reader.allow([])
            let epoch = try await vault.runErasureEpoch()
            out.object { w in
                w.key("epoch")
                if let value = epoch.epoch { w.number(Int64(value)) } else { w.null() }
                w.member("tenants", epoch.tenants.count)
            }
        case "shred":
            try reader.allow(["tenant", "conversation", "subject", "wait"])
            let tenant = try reader.string("tenant")
            let conversation = try reader.optionalString("conversation")
            let subject = try reader.optionalString("subject")
            let receipt: TranscriptVault.Receipt
            var count = 1
            switch (conversation, subject) {
            case let (conversation?, nil):
                receipt = try await vault.shredConversation(tenant: tenant, conversationID: conversation)
            case let (nil, subject?):
                (receipt, count) = try await vault.eraseSubject(tenant: tenant, subjectID: subject)
            default:
                throw RPCError.invalidParams(field: "conversation", "give exactly one of conversation and subject")
            }
            let final = try await finishErasure(receipt, wait: try reader.optionalBool("wait") ?? false)
            out.object { w in
                Self.writeReceipt(final, to: &w)
                w.member("conversations", count)
            }
        case "tenant.shred":
            try reader.allow(["name", "delay_ms"])
            let delay = try reader.optionalInteger("delay_ms") ?? Vault.defaultTenantShredDelay
            let (shredAt, receipt) = try await vault.scheduleTenantShred(try reader.string("name"), delayMilliseconds: delay)
            var final: TranscriptVault.Receipt?
            if let receipt { final = try await finishErasure(receipt, wait: false) }
            out.object { w in
                w.member("tenant", try? reader.string("name"))
                w.member("shred_at", timestampMs: shredAt)
                w.key("receipt")
                if let final { w.object { Self.writeReceiptMembers(final, to: &$0) } } else { w.null() }
            }
        case "tenant.cancel_shred":
            try reader.allow(["name"])
            let name = try reader.string("name")
            try await vault.cancelTenantShred(name)
            out.object { w in
                w.member("tenant", name)
                w.member("state", "active")
            }
        case "receipt.show":
            try reader.allow(["id"])
            let receipt = try vault.receipt(id: try reader.string("id"))
            out.object { Self.writeReceipt(receipt, to: &$0) }
        case "retention.set":
            try reader.allow(["tenant", "days", "conversation"])
            let tenant = try reader.string("tenant")
            let days = try reader.optionalInteger("days").map { Int($0) }
            if let conversation = try reader.optionalString("conversation") {
                try await vault.setRetention(tenant: tenant, conversationID: conversation, days: days)
            } else {
                try await vault.setRetention(tenant: tenant, days: days)
            }
            out.object { w in
                w.member("tenant", tenant)
                w.key("days")
                if let days { w.number(days) } else { w.null() }
            }
        default:
            return nil
        }
        return out.bytes
    }

    /// Runs the erasure epoch now when asked to, or when no scheduler will (in-process).
    private func finishErasure(_ receipt: TranscriptVault.Receipt, wait: Bool) async throws -> TranscriptVault.Receipt {
        guard wait || inProcess else { return receipt }
        try await vault.runErasureEpoch()
        return try vault.receipt(id: receipt.id)
    }

    static func writeReceipt(_ receipt: TranscriptVault.Receipt, to w: inout JSONWriter) {
        w.key("receipt")
        w.object { writeReceiptMembers(receipt, to: &$0) }
    }

    static func writeReceiptMembers(_ receipt: TranscriptVault.Receipt, to w: inout JSONWriter) {
        w.member("id", receipt.id)
        w.member("tenant", receipt.tenant)
        w.member("status", receipt.status.rawValue)
        w.member("target", receipt.target.rawValue)
        w.member("conversations", Int64(receipt.conversations))
        w.member("created_at", timestampMs: receipt.createdAt)
    }
}
