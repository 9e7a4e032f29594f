import Testing
import TranscriptAPI

/// A randomized differential test of the skimming parse (``StrictJSON/Keeping``) against the
/// full parse, on generated nested JSON with random mutations.
@Suite("Keeping policies against the full parse, on random documents")
struct StrictJSONKeepingDifferentialTests {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    }

    /// A key as written (JSON text, quotes included) and its decoded bytes.
    struct KeySpelling {
        let text: [UInt8]
        let decoded: [UInt8]
    }

    static let keySpellings: [KeySpelling] = {
        var list: [KeySpelling] = []
        func add(_ text: String, _ decoded: [UInt8]) { list.append(KeySpelling(text: Array(text.utf8), decoded: decoded)) }
        add(#""a""#, [0x61]); add(#""\u0061""#, [0x61]); add(#""\u0041""#, [0x41]); add(#""A""#, [0x41])
        add(#""""#, []); add(#""\u005c""#, [0x5C]); add(#""\\""#, [0x5C]); add(#""\"""#, [0x22]); add(#""\u0022""#, [0x22])
        add("\"\u{e9}\"", [0xC3, 0xA9]); add(#""\u00e9""#, [0xC3, 0xA9]); add(#""\u00E9""#, [0xC3, 0xA9])
        add("\"e\u{301}\"", [0x65, 0xCC, 0x81]); add(#""e\u0301""#, [0x65, 0xCC, 0x81])
        add("\"\u{1F600}\"", [0xF0, 0x9F, 0x98, 0x80]); add(#""\ud83d\ude00""#, [0xF0, 0x9F, 0x98, 0x80]); add(#""\uD83D\uDE00""#, [0xF0, 0x9F, 0x98, 0x80])
        add(#""\n""#, [0x0A]); add(#""\u000a""#, [0x0A]); add(#""\/""#, [0x2F]); add(#""/""#, [0x2F])
        for index in 0..<40 {
            let plain = "k\(index)"
            add("\"\(plain)\"", Array(plain.utf8))
        }
        // Long keys (heap strings), one spelled with an escape.
        let long = String(repeating: "x", count: 20)
        add("\"\(long)\"", Array(long.utf8)); add("\"\\u0078\(long.dropFirst())\"", Array(long.utf8))
        let long2 = String(repeating: "y", count: 40) + "\u{e9}"
        add("\"\(long2)\"", Array(long2.utf8))
        return list
    }()

    struct Generator {
        var rng: Rng
        var out: [UInt8] = []
        /// Whether a duplicate key was written on purpose.
        var duplicated = false
        var maxDepth = 6
        /// Values left to write, so that documents stay small.
        var budget = 400
        /// Past this depth containers hold one value (deep chains up to and past 64).
        var chainFrom = Int.max

        /// The bytes `write` adds, starting afresh with `budget` values left.
        mutating func fragment(budget: Int, _ write: (inout Generator) -> Void) -> [UInt8] {
            out = []
            self.budget = budget
            write(&self)
            return out
        }

        mutating func ws() {
            guard rng.chance(20) else { return }
            for _ in 0..<(1 + rng.int(2)) { out.append([0x20, 0x09, 0x0A, 0x0D][rng.int(4)]) }
        }

        mutating func string() {
            out.append(0x22)
            for _ in 0..<rng.int(8) {
                switch rng.int(12) {
                case 0: out += Array(#"\n"#.utf8)
                case 1: out += Array(#"\u00e9"#.utf8)
                case 2: out += Array(#"\ud83d\ude00"#.utf8)
                case 3: out += Array("\u{e9}".utf8)
                case 4: out += Array("\u{1F600}".utf8)
                case 5: out += Array(#"\""#.utf8)
                case 6: out += Array(#"\\"#.utf8)
                default: out.append(UInt8(ascii: "a") + UInt8(rng.int(26)))
                }
            }
            out.append(0x22)
        }

        mutating func number() {
            let forms = ["0", "-0", "1", "-12", "3.25", "1e5", "-2.5E-3", "123456789012345678901234567890", "0.0", "1E+2"]
            out += Array(forms[rng.int(forms.count)].utf8)
        }

        mutating func value(depth: Int) {
            budget -= 1
            let containerChance = depth >= maxDepth || budget <= 0 ? 0 : (depth >= chainFrom ? 95 : 45)
            if rng.chance(containerChance) {
                if rng.chance(50) { array(depth: depth + 1) } else { object(depth: depth + 1) }
                return
            }
            switch rng.int(6) {
            case 0: string()
            case 1, 2: number()
            case 3: out += Array("true".utf8)
            case 4: out += Array("false".utf8)
            default: out += Array("null".utf8)
            }
        }

        mutating func array(depth: Int) {
            out.append(UInt8(ascii: "["))
            ws()
            var count = rng.chance(10) ? rng.int(40) : rng.int(5)
            if depth >= chainFrom { count = 1 + rng.int(2) }
            if budget <= 0 { count = 0 }
            for index in 0..<count {
                if index > 0 { out.append(UInt8(ascii: ",")); ws() }
                value(depth: depth)
                ws()
            }
            out.append(UInt8(ascii: "]"))
        }

        mutating func object(depth: Int) {
            out.append(UInt8(ascii: "{"))
            ws()
            // Around the KeyTable threshold (12) often.
            var count = rng.chance(30) ? 9 + rng.int(8) : (rng.chance(5) ? rng.int(40) : rng.int(5))
            if depth >= chainFrom { count = 1 + rng.int(2) }
            if budget <= 0 { count = min(count, 1) }
            var used: [[UInt8]] = []
            for index in 0..<count {
                var spelling = StrictJSONKeepingDifferentialTests.keySpellings[rng.int(StrictJSONKeepingDifferentialTests.keySpellings.count)]
                if used.contains(spelling.decoded) {
                    if rng.chance(90) {
                        // Find one not used yet, else give up on this member.
                        guard let fresh = StrictJSONKeepingDifferentialTests.keySpellings.first(where: { !used.contains($0.decoded) }) else { break }
                        spelling = fresh
                    } else {
                        duplicated = true
                    }
                }
                used.append(spelling.decoded)
                if index > 0 { out.append(UInt8(ascii: ",")); ws() }
                out += spelling.text
                ws()
                out.append(UInt8(ascii: ":"))
                ws()
                value(depth: depth)
                ws()
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static let interesting: [UInt8] = Array(",]}[{\"\\:0-e. tn".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC0, 0xC3, 0xED, 0xF4, 0xFF, 0x0A]

    static func mutate(_ bytes: inout [UInt8], _ rng: inout Rng) {
        guard !bytes.isEmpty else { return }
        switch rng.int(7) {
        case 0: bytes[rng.int(bytes.count)] = interesting[rng.int(interesting.count)]
        case 1: bytes.insert(interesting[rng.int(interesting.count)], at: rng.int(bytes.count + 1))
        case 2: bytes.remove(at: rng.int(bytes.count))
        case 3: bytes.removeLast(rng.int(min(bytes.count, 8)) + 1)
        case 4:
            // A trailing comma before a closing bracket.
            let closers = bytes.indices.filter { bytes[$0] == UInt8(ascii: "}") || bytes[$0] == UInt8(ascii: "]") }
            if let at = closers.isEmpty ? nil : closers[rng.int(closers.count)] { bytes.insert(UInt8(ascii: ","), at: at) }
        case 5:
            // Lone surrogate or bad escape inside some string.
            let quotes = bytes.indices.filter { bytes[$0] == UInt8(ascii: "\"") }
            if let at = quotes.isEmpty ? nil : quotes[rng.int(quotes.count)] {
                let bad = [#"\ud800"#, #"\udc00x"#, #"\x"#, #"\u12"#, "\u{1}"][rng.int(5)]
                bytes.insert(contentsOf: Array(bad.utf8), at: at + 1)
            }
        default:
            // Copy a random slice somewhere else.
            let a = rng.int(bytes.count), b = min(bytes.count, a + 1 + rng.int(12))
            let slice = Array(bytes[a..<b])
            bytes.insert(contentsOf: slice, at: rng.int(bytes.count + 1))
        }
    }

    // MARK: References

    static func prune(_ node: JSONNode, _ keeping: StrictJSON.Keeping, depth: Int = 1) -> JSONNode {
        switch node.value {
        case .array(let elements):
            guard depth <= keeping.arrayDepth else { return JSONNode(value: .array([]), range: node.range) }
            return JSONNode(value: .array(elements.map { prune($0, keeping, depth: depth + 1) }), range: node.range)
        case .object(let object):
            guard depth <= keeping.objectDepth else {
                return JSONNode(value: .object(JSONObject(members: [], range: node.range)), range: node.range)
            }
            return JSONNode(value: .object(JSONObject(members: object.members.map {
                JSONObject.Member(key: $0.key, node: prune($0.node, keeping, depth: depth + 1))
            }, range: object.range)), range: node.range)
        default: return node
        }
    }

    /// The kept values of a pruned tree in the order the parser counts them (each when it ends).
    static func keptStarts(_ node: JSONNode, into starts: inout [Int]) {
        let children: [JSONNode]
        switch node.value {
        case .array(let elements): children = elements
        case .object(let object): children = object.members.map(\.node)
        default: children = []
        }
        for child in children {
            keptStarts(child, into: &starts)
            starts.append(child.range.lowerBound)
        }
    }

    static func identical(_ a: JSONNode, _ b: JSONNode) -> Bool {
        guard a.range == b.range else { return false }
        switch (a.value, b.value) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x.text.utf8.elementsEqual(y.text.utf8) && x.isInteger == y.isInteger
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case (.object(let x), .object(let y)):
            return x.range == y.range && x.count == y.count && zip(x.members, y.members).allSatisfy {
                $0.key.utf8.elementsEqual($1.key.utf8) && identical($0.node, $1.node)
            }
        default: return false
        }
    }

    /// Every object of an accepted tree has keys distinct byte for byte.
    static func keysDistinct(_ node: JSONNode) -> Bool {
        switch node.value {
        case .array(let elements): return elements.allSatisfy(keysDistinct)
        case .object(let object):
            let keys = object.members.map { Array($0.key.utf8) }
            return Set(keys).count == keys.count && object.members.allSatisfy { keysDistinct($0.node) }
        default: return true
        }
    }

    static func parse(_ bytes: [UInt8], _ keeping: StrictJSON.Keeping = .everything, maxDepth: Int = 64) -> Result<JSONNode, JSONError> {
        Result { () throws(JSONError) in try StrictJSON(maxDepth: maxDepth, keeping: keeping).parse(bytes) }
    }

    static let policies: [StrictJSON.Keeping] = {
        var list: [StrictJSON.Keeping] = []
        for objectDepth in 0...5 {
            for arrayDepth in 0...5 {
                list.append(StrictJSON.Keeping(objectDepth: objectDepth, arrayDepth: arrayDepth, values: .max))
            }
        }
        list.append(StrictJSON.Keeping(objectDepth: .max, arrayDepth: .max, values: .max))
        list.append(StrictJSON.Keeping(objectDepth: -1, arrayDepth: Int.min, values: .max))
        return list
    }()

    struct Tally {
        var documents = 0, accepted = 0, rejected = 0
        var limitBeforeSyntaxError = 0
        var example: [UInt8]?
    }

    static func run(seed: UInt64, documents: Int) -> (Tally, [String]) {
        var rng = Rng(state: seed)
        var tally = Tally()
        var issues: [String] = []
        for _ in 0..<documents {
            var generator = Generator(rng: Rng(state: rng.next()))
            if rng.chance(3) {
                generator.maxDepth = 60 + rng.int(10)
                generator.chainFrom = 3
            } else {
                generator.maxDepth = 1 + rng.int(7)
            }
            if rng.chance(50) { generator.object(depth: 1) } else { generator.value(depth: 0) }
            var bytes = generator.out
            let mutated = rng.chance(60)
            if mutated { for _ in 0..<(1 + rng.int(3)) { mutate(&bytes, &rng) } }
            tally.documents += 1
            let maxDepth = rng.chance(10) ? 1 + rng.int(6) : 64
            let full = parse(bytes, maxDepth: maxDepth)
            switch full {
            case .success(let root):
                tally.accepted += 1
                if !keysDistinct(root) { issues.append("full parse accepted a duplicate key: \(String(decoding: bytes, as: UTF8.self))") }
                if !mutated && generator.duplicated { issues.append("full parse missed a duplicate key: \(String(decoding: bytes, as: UTF8.self))") }
            case .failure(let error):
                tally.rejected += 1
                if !mutated && maxDepth == 64 && !(error.kind == .duplicateKey && generator.duplicated) && !(error.kind == .tooDeep && generator.maxDepth > 60) {
                    issues.append("full parse refused a generated document (\(error)): \(String(decoding: bytes, as: UTF8.self))")
                }
            }
            for policy in policies {
                let skimmed = parse(bytes, policy, maxDepth: maxDepth)
                switch (full, skimmed) {
                case (.failure(let expected), .failure(let error)):
                    if error != expected { issues.append("\(policy): \(error) vs full \(expected): \(String(decoding: bytes, as: UTF8.self))") }
                case (.success(let root), .success(let node)):
                    let pruned = prune(root, policy)
                    if !identical(node, pruned) { issues.append("\(policy): tree differs from the pruned full tree: \(String(decoding: bytes, as: UTF8.self))") }
                    var starts: [Int] = []
                    keptStarts(pruned, into: &starts)
                    let kept = starts.count
                    for limit in Set([kept, kept + 1, kept - 1, rng.int(kept + 1), 0]) where limit >= 0 {
                        var limited = policy
                        limited.values = limit
                        let outcome = parse(bytes, limited, maxDepth: maxDepth)
                        if limit >= kept {
                            if case .failure(let error) = outcome { issues.append("\(limited): refused \(error) with \(kept) kept values") }
                        } else if case .failure(let error) = outcome, error.kind == .tooManyValues {
                            if error.offset != starts[limit] { issues.append("\(limited): tooManyValues at \(error.offset), expected \(starts[limit])") }
                        } else {
                            issues.append("\(limited): \(outcome) with \(kept) kept values")
                        }
                    }
                default:
                    issues.append("\(policy): \(skimmed) vs full \(full): \(String(decoding: bytes, as: UTF8.self))")
                }
            }
            // A value limit on a document the full parse refuses: the same error, unless the
            // limit is met first.
            if case .failure(let expected) = full {
                for limit in [0, 1, 2, 5, 20] {
                    let policy = StrictJSON.Keeping(objectDepth: 2, arrayDepth: 3, values: limit)
                    if case .failure(let error) = parse(bytes, policy, maxDepth: maxDepth), error != expected {
                        if error.kind == .tooManyValues {
                            tally.limitBeforeSyntaxError += 1
                            if tally.example == nil || bytes.count < tally.example!.count { tally.example = bytes }
                            issues.append("limit \(limit): tooManyValues for a document the full parse refuses with \(expected): \(String(decoding: bytes, as: UTF8.self))")
                        } else {
                            issues.append("limit \(limit): \(error) vs full \(expected)")
                        }
                    } else if case .success = parse(bytes, policy, maxDepth: maxDepth) {
                        issues.append("limit \(limit): accepted what the full parse refuses")
                    }
                }
            }
            if issues.count > 20 { break }
        }
        return (tally, issues)
    }

    @Test("random documents: every policy gives the full parse's verdict and the pruned tree", arguments: 0..<8)
    func differential(_ shard: Int) {
        let (tally, issues) = Self.run(seed: 0xC0FFEE &+ UInt64(shard) &* 0x1_0000_0001, documents: 300)
        for issue in issues.prefix(20) { Issue.record(Comment(rawValue: issue)) }
        #expect(tally.accepted > tally.documents / 5 && tally.rejected > tally.documents / 5)
    }

    /// A request line: the envelope, params with messages and metadata (random objects), other
    /// members sometimes of the wrong type; then maybe mutated.
    static func requestLine(_ rng: inout Rng) -> [UInt8] {
        var generator = Generator(rng: Rng(state: rng.next()))
        generator.maxDepth = 1 + rng.int(6)
        var out = Array(#"{"jsonrpc":"2.0","method":""#.utf8)
        let methods = ["conversation.append", "conversation.read", "conversation.list", "auth", "system.info", "receipt.get"]
        out += Array(methods[rng.int(methods.count)].utf8) + [0x22]
        if rng.chance(90) {
            out += Array(#","params":{"conversation_id":"#.utf8)
            if rng.chance(90) { out += Array(#""c1""#.utf8) } else { out += generator.fragment(budget: generator.budget) { $0.value(depth: 2) } }
            if rng.chance(90) {
                out += Array(#","messages":["#.utf8)
                for index in 0..<rng.int(6) {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    let asObject = rng.chance(85)
                    out += generator.fragment(budget: 100) { asObject ? $0.object(depth: 4) : $0.value(depth: 3) }
                }
                out.append(UInt8(ascii: "]"))
            }
            if rng.chance(40) {
                out += Array(#","metadata":"#.utf8)
                let asObject = rng.chance(85)
                out += generator.fragment(budget: 100) { asObject ? $0.object(depth: 3) : $0.value(depth: 2) }
            }
            for name in ["limit", "after_seq", "token", "tenant", "format", "subject_id", "idempotency_key", "id"] where rng.chance(8) {
                out += Array(",\"\(name)\":".utf8)
                out += generator.fragment(budget: 20) { $0.value(depth: 2) }
            }
            out.append(UInt8(ascii: "}"))
        }
        if rng.chance(90) {
            out += Array(#","id":"#.utf8)
            out += generator.fragment(budget: 10) { $0.value(depth: 1) }
        }
        out.append(UInt8(ascii: "}"))
        if rng.chance(50) { for _ in 0..<(1 + rng.int(2)) { mutate(&out, &rng) } }
        return out
    }

    @Test("random request lines: the server's decode equals the full decode", arguments: 0..<8)
    func requests(_ shard: Int) {
        var rng = Rng(state: 0xBADC0DE &+ UInt64(shard) &* 0x1_0000_0001)
        let keeping = RPCRequest.keeping(messagesPerAppend: 1000)
        var accepted = 0, appends = 0, failures = 0
        for _ in 0..<Self.requestCount {
            let line = Self.requestLine(&rng)
            let full = Result { () throws(RPCRequest.Rejection) in try RPCRequest.decode(line) }
            let skimmed = Result { () throws(RPCRequest.Rejection) in try RPCRequest.decode(line, keeping: keeping) }
            switch (full, skimmed) {
            case (.failure(let a), .failure(let b)):
                if a != b { Issue.record("\(a) vs \(b): \(String(decoding: line, as: UTF8.self))"); failures += 1 }
            case (.success(let a), .success(let b)):
                accepted += 1
                let x = Result { () throws(RPCError) in try a.decodeParams(AppendParams.self) }
                let y = Result { () throws(RPCError) in try b.decodeParams(AppendParams.self) }
                if case .success = x { appends += 1 }
                if x != y || a.id != b.id || !a.method.utf8.elementsEqual(b.method.utf8) {
                    Issue.record("params differ: \(String(decoding: line, as: UTF8.self))"); failures += 1
                }
                for type in [ReadParams.self, ListParams.self, AuthParams.self, ReceiptParams.self, NoParams.self] as [any RPCParams.Type] {
                    let p = Result { () throws(RPCError) in try type.init(params: a.params, line: line) }.map { _ in 0 }
                    let q = Result { () throws(RPCError) in try type.init(params: b.params, line: line) }.map { _ in 0 }
                    if p != q { Issue.record("\(type) differ: \(String(decoding: line, as: UTF8.self))"); failures += 1 }
                }
            default:
                Issue.record("\(full) vs \(skimmed): \(String(decoding: line, as: UTF8.self))"); failures += 1
            }
            do throws(PropertyViolation) {
                try FuzzProperties.check(line, .request)
            } catch {
                Issue.record("\(error): \(String(decoding: line, as: UTF8.self))"); failures += 1
            }
            if failures > 20 { break }
        }
        #expect(accepted > Self.requestCount / 8 && appends > Self.requestCount / 40)
    }

    static let requestCount = 300
}
