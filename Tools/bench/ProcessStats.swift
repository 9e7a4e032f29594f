import Foundation
import Glibc

/// Wall-clock milliseconds, as the engine stamps messages.
enum WallClock {
    static func milliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// Figures about this process, read from the kernel.
enum ProcessStats {
    /// A field of `/proc/self/status` in KiB (`VmHWM`: peak resident set; `VmRSS`: current).
    static func statusKiB(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
            return Int(digits) ?? -1
        }
        return -1
    }

    /// User and system CPU seconds used by the whole process so far.
    static func cpuSeconds() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return (seconds(usage.ru_utime), seconds(usage.ru_stime))
    }

    /// CPU seconds (user + system) used so far by each thread of this process, by thread id,
    /// from `/proc/self/task/*/stat` (clock-tick resolution).
    static func threadCPUSeconds() -> [Int: Double] {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var result: [Int: Double] = [:]
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return result }
        for task in tasks {
            guard let tid = Int(task),
                  let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after the command name: state is field 3, utime 14, stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            result[tid] = (user + system) / ticks
        }
        return result
    }

    /// Voluntary and involuntary context switches so far.
    static func contextSwitches() -> (voluntary: Int, involuntary: Int) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return (usage.ru_nvcsw, usage.ru_nivcsw)
    }

    /// The number of the last committed LMDB transaction, read from the meta pages of
    /// `data.mdb` (LMDB 0.9 layout: a 16-byte page header, then `MDB_meta` with the page size
    /// at offset 24 and `mm_txnid` at offset 128; two meta pages, the newer one counts).
    /// Each commit takes the next number, so the difference over an interval is the number of
    /// commits in it, for the engine as for the raw baseline. Returns -1 when unreadable.
    static func lmdbTransactionID(store: String) -> Int64 {
        let fd = open(store + "/data.mdb", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        func u32(_ offset: Int) -> UInt32? {
            var value: UInt32 = 0
            return pread(fd, &value, 4, off_t(offset)) == 4 ? UInt32(littleEndian: value) : nil
        }
        func u64(_ offset: Int) -> UInt64? {
            var value: UInt64 = 0
            return pread(fd, &value, 8, off_t(offset)) == 8 ? UInt64(littleEndian: value) : nil
        }
        let magic: UInt32 = 0xBEEF_C0DE
        guard u32(16) == magic, let pageSize = u32(16 + 24), pageSize >= 512 else { return -1 }
        var newest: UInt64 = 0
        for page in 0..<2 {
            let base = page * Int(pageSize)
            guard u32(base + 16) == magic, let txnid = u64(base + 16 + 128) else { return -1 }
            newest = max(newest, txnid)
        }
        return Int64(newest)
    }

    /// The file system holding `path`: its type and device, from `/proc/self/mounts`.
    static func fileSystem(of path: String) -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return "unknown" }
        var best: (point: String, text: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 4 else { continue }
            let point = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
            let inside = point == "/" || resolved == point || resolved.hasPrefix(point + "/")
            if inside, point.count >= (best?.point.count ?? -1) {
                best = (point, "\(fields[2]) on \(fields[0]) (mounted at \(point), \(fields[3]))")
            }
        }
        return best?.text ?? "unknown"
    }

    /// The path of this executable, for spawning children.
    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The CPU model, for the report.
    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }
}
