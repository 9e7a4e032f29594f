internal import CTranscriptSodium
internal import Glibc

/// The redo log that makes a durable environment's commits durable with one flush of one
/// contiguous write, instead of LMDB's scattered page writes and two flushes.
///
/// `redo.log` sits beside `data.mdb`. Its layout:
///
/// - two header slots of ``slotSize`` bytes; the valid one with the higher generation is the
///   **checkpoint**: the generation, and a copy of `data.mdb`'s two meta pages taken right after
///   `data.mdb` was flushed (`mdb_env_sync`);
/// - then the records of that generation, each starting on a 4 KiB boundary: what one write
///   transaction did (its puts, deletes and clears, by database name), with the generation, a
///   sequence number from 1, and a BLAKE2b-128 checksum over all of it: over the payload, then
///   the 24 bytes of magic, length, generation and sequence (magic `TVR2`, written since the
///   payload is summed while its transaction runs, see ``RecordChecksum``), or over those 24
///   bytes, then the payload (magic `TVRR`, written before; still read). They start right after the
///   header slots, or where the header says (at offset 24; 0 for right after the slots): a
///   checkpoint that keeps records not yet in `data.mdb` writes them past the old generation's
///   records before its header (see ``checkpoint(metaPages:pageSize:now:keeping:)``).
///
/// A commit appends its record and flushes the log (`fdatasync` on blocks already written, so no
/// file-system journal commit), then commits the LMDB transaction without a flush. LMDB writes
/// its pages later; the environment keeps a read transaction open on the checkpoint's snapshot,
/// so no page of that snapshot is reused before the next checkpoint. After a crash, whatever
/// LMDB wrote since may be torn, but the checkpoint's pages are whole: recovery writes the saved
/// meta pages back (LMDB then opens the checkpoint's snapshot) and applies the records in order.
///
/// A record is never written over an acknowledged one: records start on fresh 4 KiB blocks,
/// and the area is reused only after a checkpoint, in the next generation, whose stale records
/// the generation field tells apart.
final class RedoLog {
    // Invariant: used only by the thread holding the environment's log lock (or during init).

    static let fileName = "redo.log"
    static let slotSize = 64 << 10
    static let recordsStart = 2 * slotSize
    static let alignment = 4096
    static let initialCapacity = 256 << 10
    static let maximumCapacity = 8 << 20
    /// A log that fills again within this many nanoseconds of the last checkpoint doubles.
    static let growWithin: UInt64 = 5_000_000_000

    private static let headerMagic: UInt32 = 0x4852_5654   // "TVRH", little-endian
    /// A record whose checksum sums its head, then its payload (written by earlier versions).
    private static let headFirstRecordMagic: UInt32 = 0x5252_5654   // "TVRR"
    /// A record whose checksum sums its payload, then its head: the payload's part is summed
    /// while the transaction runs.
    private static let recordMagic: UInt32 = 0x3252_5654   // "TVR2"
    private static let headerVersion: UInt32 = 1
    private static let headerFixed = 48
    private static let recordFixed = 40

    private let fd: Int32
    /// Bytes available for records, after the two header slots.
    private(set) var capacity: Int
    /// The checkpoint's generation; records of this generation follow it.
    private(set) var generation: UInt64
    private var nextSequence: UInt64 = 1
    private var writeOffset = RedoLog.recordsStart
    /// Where the last record appended starts.
    private var lastRecordOffset = RedoLog.recordsStart
    private var checkpointedAt: UInt64 = 0
    /// Set when a record's fate is unknown (a failed flush): no further write is accepted.
    private(set) var failed = false

    /// The moments of a checkpoint that keeps records (``checkpoint(metaPages:pageSize:now:keeping:)``)
    /// where a crash must find them: in the current generation, then in the next.
    enum KeepingStep: Sendable {
        /// The kept records are written and flushed past the current generation's; the new
        /// header is not written yet.
        case recordsFlushed
        /// The new header, which names them, is written and flushed.
        case headerFlushed
    }

    /// Called at each ``KeepingStep`` of a checkpoint that keeps records; tests set it, before
    /// any write, to take the image a crash at that moment would leave.
    var keepingStep: ((KeepingStep) -> Void)?

    /// What a log holds when it is opened: the checkpoint and the records after it.
    struct Recovered {
        /// `data.mdb`'s two meta pages at the checkpoint.
        var metaPages: [UInt8]
        var records: [[UInt8]]
    }

    private init(fd: Int32, capacity: Int, generation: UInt64) {
        self.fd = fd
        self.capacity = capacity
        self.generation = generation
    }

    deinit { close(fd) }

    /// Opens (creating when missing) the log in `directory` and reads what it holds.
    static func open(directory: String) throws -> (RedoLog, Recovered?) {
        _ = sodium_init()
        let path = directory + "/" + fileName
        let existed = access(path, F_OK) == 0
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        do {
            var status = stat()
            guard fstat(fd, &status) == 0 else { throw LMDBError(code: errno) }
            let size = Int(status.st_size)
            let contents = try readAll(fd, size: size)
            let log = RedoLog(fd: fd, capacity: max(0, size - recordsStart) / alignment * alignment, generation: 0)
            var recovered: Recovered?
            if let header = bestHeader(in: contents) {
                log.generation = header.generation
                recovered = Recovered(metaPages: header.metaPages,
                                      records: records(in: contents, generation: header.generation, from: header.recordsOffset))
            }
            if log.capacity < initialCapacity {
                try log.extend(to: initialCapacity)
                if !existed { try syncDirectory(directory) }
            }
            return (log, recovered)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Removes the log file of `directory`, if any (an environment opened without durability
    /// must not leave records that a later durable open would apply over its commits).
    static func remove(directory: String) throws {
        let path = directory + "/" + fileName
        if unlink(path) != 0 {
            if errno == ENOENT { return }
            throw LMDBError(code: errno)
        }
        try syncDirectory(directory)
    }

    /// Writes the checkpoint's meta pages over those of `data.mdb` in `directory` and flushes
    /// them: LMDB then opens the checkpoint's snapshot.
    static func restoreMetaPages(_ recovered: Recovered, directory: String) throws {
        let fd = Glibc.open(directory + "/data.mdb", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { close(fd) }
        try writeAll(fd, recovered.metaPages, at: 0)
        guard fdatasync(fd) == 0 else { throw LMDBError(code: errno) }
    }

    // MARK: Writing

    /// Whether a record of `payload` bytes fits before the end of the log.
    func fits(_ payloadCount: Int) -> Bool {
        writeOffset + Self.aligned(Self.recordFixed + payloadCount) <= Self.recordsStart + capacity
    }

    /// The largest record payload that fits before the end of the log.
    var room: Int { max(0, Self.recordsStart + capacity - writeOffset - Self.recordFixed) }

    /// Whether the log is full enough that the next checkpoint should come now.
    var isNearlyFull: Bool { writeOffset - Self.recordsStart >= capacity * 3 / 4 }

    /// Appends one record and flushes it. On a failure the record is made invalid again, or,
    /// when that fails too, the log refuses every further write.
    ///
    /// `summed`, when given, has summed `payload` already, and nothing else (it is spent).
    func append(_ payload: [UInt8], summed: RecordChecksum? = nil) throws {
        guard !failed else { throw LMDBError(code: EIO) }
        let record = Self.encodeRecord(payload, generation: generation, sequence: nextSequence, summed: summed)
        do {
            try Self.writeAll(fd, record, at: writeOffset)
            guard fdatasync(fd) == 0 else { throw LMDBError(code: errno) }
        } catch {
            try? revoke(at: writeOffset)
            throw error
        }
        lastRecordOffset = writeOffset
        writeOffset += record.count
        nextSequence += 1
    }

    /// A record as written: header (magic, length, generation, sequence, checksum) and payload,
    /// padded to a 4 KiB boundary. `summed`, when given, has summed the payload already.
    private static func encodeRecord(_ payload: [UInt8], generation: UInt64, sequence: UInt64,
                                     summed: RecordChecksum? = nil) -> [UInt8] {
        let length = recordFixed + payload.count
        var record = [UInt8](repeating: 0, count: aligned(length))
        store(recordMagic, at: 0, in: &record)
        store(UInt32(payload.count), at: 4, in: &record)
        store(generation, at: 8, in: &record)
        store(sequence, at: 16, in: &record)
        record.replaceSubrange(recordFixed..<length, with: payload)
        let checksum: RecordChecksum
        if let summed {
            checksum = summed
        } else {
            checksum = RecordChecksum()
            checksum.update(payload[...])
        }
        checksum.update(record[0..<24])
        record.replaceSubrange(24..<40, with: checksum.finish())
        return record
    }

    /// Refuses every further write, until the environment is opened again.
    func refuseWrites() { failed = true }

    /// Makes the record just appended invalid again: its transaction did not commit.
    func revokeLast() throws {
        writeOffset = lastRecordOffset
        nextSequence -= 1
        try revoke(at: writeOffset)
    }

    private func revoke(at offset: Int) throws {
        do {
            try Self.writeAll(fd, [UInt8](repeating: 0, count: Self.recordFixed), at: offset)
            guard fdatasync(fd) == 0 else { throw LMDBError(code: errno) }
        } catch {
            failed = true
            throw error
        }
    }

    /// Starts a new generation from `metaPages` (`data.mdb`'s meta pages, just flushed): writes
    /// the header into the other slot and flushes it. The records before become stale.
    ///
    /// A log that filled quickly grows first, so that checkpoints stay seconds apart.
    ///
    /// `keeping` are records of changes that `data.mdb` does not hold yet (writes carried in an
    /// open transaction, see ``Environment/write(carrying:_:)``): they become the new
    /// generation's first records. They are written past the current generation's records and
    /// flushed before the header, so that a crash at any point finds them in one generation or
    /// the other; the header says where they start. Without room for them the log grows.
    func checkpoint(metaPages: [UInt8], pageSize: Int, now: UInt64, keeping: [[UInt8]] = []) throws {
        guard !failed else { throw LMDBError(code: EIO) }
        precondition(Self.headerFixed + metaPages.count <= Self.slotSize, "meta pages larger than a header slot")
        let next = generation + 1
        let filledQuickly = isNearlyFull && checkpointedAt != 0 && now &- checkpointedAt < Self.growWithin
        if filledQuickly && capacity < Self.maximumCapacity {
            try? extend(to: min(Self.maximumCapacity, capacity * 2))
        }
        let kept = keeping.enumerated().map { Self.encodeRecord($1, generation: next, sequence: UInt64($0 + 1)) }
        let keptBytes = kept.reduce(0) { $0 + $1.count }
        let start = kept.isEmpty ? Self.recordsStart : writeOffset
        if start + keptBytes > Self.recordsStart + capacity {
            // Beyond the end, over zeros: nothing of the current generation is touched.
            try extend(to: Self.aligned(start + keptBytes - Self.recordsStart))
        }
        if !kept.isEmpty {
            // Past the current generation's records, which recovery still reads whole if this fails.
            try Self.writeAll(fd, kept.flatMap { $0 }, at: start)
            guard fdatasync(fd) == 0 else { throw LMDBError(code: errno) }
            keepingStep?(.recordsFlushed)
        }
        var header = [UInt8](repeating: 0, count: Self.headerFixed + metaPages.count)
        Self.store(Self.headerMagic, at: 0, in: &header)
        Self.store(Self.headerVersion, at: 4, in: &header)
        Self.store(next, at: 8, in: &header)
        Self.store(UInt32(pageSize), at: 16, in: &header)
        Self.store(UInt32(metaPages.count), at: 20, in: &header)
        Self.store(UInt64(start == Self.recordsStart ? 0 : start), at: 24, in: &header)
        header.replaceSubrange(Self.headerFixed..<header.count, with: metaPages)
        let sum = RecordChecksum.of(header[0..<32], header[Self.headerFixed...])
        header.replaceSubrange(32..<48, with: sum)
        do {
            try Self.writeAll(fd, header, at: Int(next % 2) * Self.slotSize)
            guard fdatasync(fd) == 0 else { throw LMDBError(code: errno) }
        } catch {
            // The current header, in the other slot, is untouched and recovery still finds it;
            // but whether this one reached the disk is unknown: accept no further write.
            failed = true
            throw error
        }
        if !kept.isEmpty { keepingStep?(.headerFlushed) }
        generation = next
        nextSequence = UInt64(kept.count + 1)
        writeOffset = start + keptBytes
        lastRecordOffset = kept.isEmpty ? start : start + keptBytes - kept[kept.count - 1].count
        checkpointedAt = now
    }

    /// Writes zeros up to `capacity` bytes of records and flushes them, so that records are
    /// later written over blocks that exist (a plain overwrite, no journal commit).
    private func extend(to newCapacity: Int) throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var offset = Self.recordsStart + capacity
        let end = Self.recordsStart + newCapacity
        if capacity == 0 { offset = 0 }
        while offset < end {
            try Self.writeAll(fd, Array(zeros[0..<min(zeros.count, end - offset)]), at: offset)
            offset += min(zeros.count, end - offset)
        }
        guard fdatasync(fd) == 0 else { throw LMDBError(code: errno) }
        capacity = newCapacity
    }

    // MARK: Reading

    private struct Header {
        var generation: UInt64
        var metaPages: [UInt8]
        /// Where the generation's records start.
        var recordsOffset: Int
    }

    private static func bestHeader(in contents: [UInt8]) -> Header? {
        var best: Header?
        for slot in 0..<2 {
            let base = slot * slotSize
            guard contents.count >= base + headerFixed,
                  load(UInt32.self, at: base, in: contents) == headerMagic,
                  load(UInt32.self, at: base + 4, in: contents) == headerVersion else { continue }
            let metaCount = Int(load(UInt32.self, at: base + 20, in: contents))
            guard metaCount > 0, headerFixed + metaCount <= slotSize, contents.count >= base + headerFixed + metaCount else { continue }
            let sum = RecordChecksum.of(contents[base..<base + 32], contents[base + headerFixed..<base + headerFixed + metaCount])
            guard sum.elementsEqual(contents[base + 32..<base + 48]) else { continue }
            let generation = load(UInt64.self, at: base + 8, in: contents)
            // A header lives in the slot of its generation's parity; one found elsewhere is not ours.
            guard Int(generation % 2) == slot else { continue }
            let offset = load(UInt64.self, at: base + 24, in: contents)
            guard offset == 0 || (offset >= UInt64(recordsStart) && offset % UInt64(alignment) == 0) else { continue }
            if let current = best, current.generation >= generation { continue }
            best = Header(generation: generation,
                          metaPages: Array(contents[base + headerFixed..<base + headerFixed + metaCount]),
                          recordsOffset: offset == 0 ? recordsStart : Int(offset))
        }
        return best
    }

    private static func records(in contents: [UInt8], generation: UInt64, from start: Int) -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = start
        var sequence: UInt64 = 1
        while offset + recordFixed <= contents.count {
            let magic = load(UInt32.self, at: offset, in: contents)
            guard magic == recordMagic || magic == headFirstRecordMagic,
                  load(UInt64.self, at: offset + 8, in: contents) == generation,
                  load(UInt64.self, at: offset + 16, in: contents) == sequence else { break }
            let count = Int(load(UInt32.self, at: offset + 4, in: contents))
            let end = offset + recordFixed + count
            guard end <= contents.count else { break }
            let head = contents[offset..<offset + 24], payload = contents[offset + recordFixed..<end]
            let sum = magic == recordMagic ? RecordChecksum.of(payload, head) : RecordChecksum.of(head, payload)
            guard sum.elementsEqual(contents[offset + 24..<offset + 40]) else { break }
            records.append(Array(contents[offset + recordFixed..<end]))
            offset += aligned(recordFixed + count)
            sequence += 1
        }
        return records
    }

    // MARK: Helpers

    static func aligned(_ count: Int) -> Int { (count + alignment - 1) / alignment * alignment }

    private static func store<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: $0) }
    }

    private static func load<T: FixedWidthInteger>(_: T.Type, at offset: Int, in bytes: [UInt8]) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { target in
            for index in 0..<MemoryLayout<T>.size { target[index] = bytes[offset + index] }
        }
        return T(littleEndian: value)
    }

    private static func readAll(_ fd: Int32, size: Int) throws -> [UInt8] {
        var contents = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = contents.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + offset, size - offset, off_t(offset)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw LMDBError(code: count < 0 ? errno : EIO) }
            offset += count
        }
        return contents
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at start: Int) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + offset, bytes.count - offset, off_t(start + offset)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw LMDBError(code: count < 0 ? errno : EIO) }
            offset += count
        }
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LMDBError(code: errno) }
    }
}
