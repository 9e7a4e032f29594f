import Foundation
import TranscriptAPI
public import TranscriptVault

extension AdminDispatcher {
    /// Maintenance methods: `status`, `stats`, `verify`, `backup`, `audit.tail`,
    /// `audit.verify`, `audit.export`. Field names are documented in `Docs/cli.md`.
    ///
    /// - Returns: the result object's bytes, or `nil` when `method` is not one of them.
    func runMaintenance(method: String, params reader: AdminParams) async throws -> [UInt8]? {
        var out = JSONWriter()
        switch method {
        case "status":
            try reader.allow([])
            let status = try vault.status()
            out.object { w in
                w.member("data_dir", vault.dataDirectory.path)
                w.member("version", Dispatcher.version)
                w.member("tenants", status.tenants)
                w.member("epoch", status.epoch)
                w.member("audit_records", status.auditRecords)
            }
        case "stats":
            try reader.allow([])
            let vault = vault
            Self.write(try await Vault.offload { try vault.stats() }, to: &out)
        case "verify":
            try reader.allow([])
            let vault = vault
            return Self.encode(try await Vault.offload { try vault.verify() })
        case "backup":
            try reader.allow(["destination"])
            let backup = try await vault.backup(to: try reader.string("destination"))
            out.object { w in
                w.member("destination", backup.destination)
                w.member("store", backup.store)
                w.member("bytes", backup.bytes)
                w.member("epoch", backup.epoch)
                w.member("audit_seq", backup.auditSeq)
            }
        case "audit.tail":
            try reader.allow(["count"])
            let count = try reader.optionalCount("count", range: 1...10_000) ?? 20
            let records = try vault.auditTail(count)
            out.object { w in
                w.key("records")
                w.array { w in for record in records { Self.write(record, to: &w) } }
            }
        case "audit.verify":
            try reader.allow([])
            let verification = try vault.verifyAudit()
            out.object { w in
                w.member("records", verification.records)
                w.member("intact", verification.isIntact)
                w.member("first_broken", verification.firstBroken)
                w.member("problem", verification.problem)
            }
        case "audit.export":
            // Paged: the first call (no `after`) records the export, later calls continue
            // from `next_after`. The record is written before the first page is read, so
            // the export holds its own record.
            try reader.allow(["after", "limit"])
            let after = try reader.optionalCount("after", range: 1...Int.max)
            let limit = try reader.optionalCount("limit", range: 1...10_000) ?? 1000
            if after == nil { try await vault.recordAuditExport() }
            let records = try vault.auditRecords(after: UInt64(after ?? 0), limit: limit + 1)
            out.object { w in
                w.key("records")
                w.array { w in for record in records.prefix(limit) { Self.write(record, to: &w) } }
                w.member("next_after", records.count > limit ? records[limit - 1].seq : nil)
            }
        default:
            return nil
        }
        return out.bytes
    }

    /// The `verify` result object, as the admin method answers it; the CLI uses it for the
    /// report it computes in-process, so that both paths print the same bytes.
    public static func encode(_ report: VerifyReport) -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            w.member("records", report.records)
            w.member("failures", report.failureCount)
            w.member("tenants", report.tenants)
            w.member("skipped", report.skipped)
            w.key("counts")
            w.object { w in
                for kind in VerifyReport.Kind.allCases where kind != .tenant {
                    w.member(kind.rawValue, report.counts[kind] ?? 0)
                }
            }
            w.key("details")
            w.array { w in
                for failure in report.failures {
                    w.object { w in
                        w.member("tenant", failure.tenant)
                        w.member("kind", failure.kind.rawValue)
                        w.member("position", failure.position)
                        w.member("conversation", failure.conversation)
                        w.member("seq", failure.seq)
                        w.member("kek_version", failure.kekVersion.map(UInt64.init))
                        w.member("check", failure.check)
                    }
                }
            }
            w.member("details_truncated", report.isTruncated)
        }
        return w.bytes
    }

    static func write(_ stats: StoreStats, to w: inout JSONWriter) {
        w.object { w in
            w.member("epoch", stats.epoch)
            w.member("tenants", stats.tenants.count)
            w.member("conversations", stats.conversations)
            w.member("messages", stats.messages)
            w.member("bytes", stats.bytes)
            w.member("tokens", stats.tokens)
            w.member("audit_records", stats.auditRecords)
            w.key("map")
            w.object { w in
                w.member("size", stats.mapSize)
                w.member("used", stats.mapUsed)
                w.member("page_size", stats.pageSize)
                w.member("file_bytes", stats.fileBytes)
            }
            w.key("by_tenant")
            w.array { w in
                for tenant in stats.tenants {
                    w.object { w in
                        w.member("name", tenant.name)
                        w.member("state", tenant.state.rawValue)
                        w.member("epoch", tenant.epoch)
                        w.member("kek_version", Int(tenant.kekVersion))
                        w.key("kek_versions")
                        w.array { w in for version in tenant.kekVersions { w.number(Int(version)) } }
                        w.key("conversations_by_kek_version")
                        w.object { w in
                            for (version, count) in tenant.conversationsByKEKVersion.sorted(by: { $0.key < $1.key }) {
                                w.member(String(version), count)
                            }
                        }
                        w.member("conversations", tenant.conversations)
                        w.member("messages", tenant.messages)
                        w.member("bytes", tenant.bytes)
                    }
                }
            }
        }
    }

    /// One audit record: `seq`, `time` (RFC 3339), `action`, `fields` (an object; a repeated
    /// name, which the engine never writes, keeps its first value so the line stays valid JSON).
    static func write(_ record: AuditRecord, to w: inout JSONWriter) {
        w.object { w in
            w.member("seq", record.seq)
            w.member("time", timestampMs: record.time)
            w.member("action", record.action)
            w.key("fields")
            w.object { w in
                var seen = Set<String>()
                for field in record.fields where seen.insert(field.name).inserted {
                    w.member(field.name, field.value)
                }
            }
        }
    }
}

extension AdminParams {
    /// An optional integer parameter within `range`.
    func optionalCount(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        switch object?[name] {
        case nil, .null?: return nil
        case .number(let number)?:
            guard let value = number.int64Value, let int = Int(exactly: value), range.contains(int) else {
                throw RPCError.invalidParams(field: name, "an integer in \(range.lowerBound)...\(range.upperBound) is required")
            }
            return int
        default:
            throw RPCError.invalidParams(field: name, "an integer is required")
        }
    }
}
