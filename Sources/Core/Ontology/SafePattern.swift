/// A regular-expression subset for `pattern` constraints, matched by an NFA simulation (Thompson / Pike style),
/// so a match costs at most O(input length × pattern size) — no catastrophic backtracking, whatever the pattern.
///
/// Supported: literals; `.` (any character but a newline); classes `[a-z0-9_]`, `[^…]` with ranges and the escapes
/// below; `\d \D \w \W \s \S` (ASCII meanings); `\t \n \r \f \v`, `\uXXXX`, `\xHH` and escaped punctuation; anchors
/// `^` `$` (start/end of the whole input); quantifiers `* + ? {m} {m,} {m,n}` (a trailing lazy `?` is accepted
/// and changes nothing for a yes/no match); groups `(…)` and `(?:…)` with alternation `|`. Anything else —
/// back-references, look-around, `\b`, flags, named groups — is refused when the class is defined.
///
/// Matching uses search semantics, as JSON Schema does: the pattern may match anywhere in the value unless it is
/// anchored with `^…$`.
public struct SafePattern: Sendable, Hashable, CustomStringConvertible {
    public struct Error: Swift.Error, Sendable, Equatable {
        public let message: String
        /// The character offset in the pattern where the problem was found.
        public let offset: Int
    }

    public static let maxSourceLength = 1000
    public static let maxProgramSize = 2000
    public static let maxRepeat = 1000
    static let maxNesting = 32

    public let source: String
    private let program: [Instruction]
    private let anchoredAtStart: Bool

    public init(_ source: String) throws(SafePattern.Error) {
        let scalars = Array(source.unicodeScalars)
        guard scalars.count <= SafePattern.maxSourceLength else {
            throw Error(message: "pattern is longer than \(SafePattern.maxSourceLength) characters", offset: 0)
        }
        var parser = PatternParser(scalars: scalars)
        let node = try parser.parseAlternation()
        if parser.position < scalars.count {
            throw Error(message: "unmatched ')'", offset: parser.position)
        }
        var compiler = PatternCompiler()
        try compiler.emit(node)
        try compiler.append(.match)
        self.source = source
        self.program = compiler.program
        self.anchoredAtStart = node.isAnchoredAtStart
    }

    public var description: String { source }

    public static func == (lhs: SafePattern, rhs: SafePattern) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }

    /// The most NFA steps (pattern size × input length) one match may take.
    public static let maxWork = 20_000_000

    /// Whether `text` is short enough to be matched within `maxWork` (each input character costs at most one step
    /// per pattern instruction).
    public func canMatch(_ text: String) -> Bool {
        let limit = SafePattern.maxWork / max(program.count, 1)
        var count = 0
        for _ in text.unicodeScalars {
            count += 1
            if count > limit { return false }
        }
        return true
    }

    /// Whether the pattern matches somewhere in `text`. Text longer than `canMatch` allows does not match.
    public func matches(_ text: String) -> Bool {
        guard canMatch(text) else { return false }
        let input = Array(text.unicodeScalars)
        var current = ThreadSet(size: program.count)
        var next = ThreadSet(size: program.count)
        var stack: [Int] = []
        stack.reserveCapacity(program.count)
        for position in 0...input.count {
            if position == 0 || !anchoredAtStart {
                if addThread(0, at: position, count: input.count, into: &current, stack: &stack) { return true }
            }
            if position == input.count || current.list.isEmpty { break }
            let scalar = input[position].value
            next.clear()
            for pc in current.list {
                guard case .set(let ranges) = program[pc], ranges.contains(scalar) else { continue }
                if addThread(pc + 1, at: position + 1, count: input.count, into: &next, stack: &stack) { return true }
            }
            swap(&current, &next)
            if anchoredAtStart && current.list.isEmpty { return false }
        }
        return false
    }

    /// Follows the ε-edges from `pc` at `position`, adding each reached state once; true when `match` is reached.
    private func addThread(_ pc: Int, at position: Int, count: Int, into set: inout ThreadSet, stack: inout [Int]) -> Bool {
        stack.removeAll(keepingCapacity: true)
        stack.append(pc)
        while let pc = stack.popLast() {
            guard set.insert(pc) else { continue }
            switch program[pc] {
            case .match: return true
            case .set: break
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assertStart: if position == 0 { stack.append(pc + 1) }
            case .assertEnd: if position == count { stack.append(pc + 1) }
            }
        }
        return false
    }
}

// MARK: - Character sets

/// A set of Unicode scalar values as sorted, disjoint, non-adjacent ranges.
struct ScalarRanges: Sendable, Hashable {
    var ranges: [ClosedRange<UInt32>]

    init(_ ranges: [ClosedRange<UInt32>]) {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for range in sorted {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    func contains(_ value: UInt32) -> Bool {
        var low = 0, high = ranges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if value < ranges[mid].lowerBound { high = mid - 1 } else if value > ranges[mid].upperBound { low = mid + 1 } else { return true }
        }
        return false
    }

    var inverted: ScalarRanges {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = range.upperBound &+ 1
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return ScalarRanges(result)
    }

    static func single(_ value: UInt32) -> ScalarRanges { ScalarRanges([value...value]) }
    static let digit = ScalarRanges([0x30...0x39])
    static let word = ScalarRanges([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = ScalarRanges([0x09...0x0D, 0x20...0x20])
    static let anyButNewline = ScalarRanges([0...0x09, 0x0B...0x10FFFF])
}

// MARK: - Parsing

indirect enum PatternNode {
    case set(ScalarRanges)
    case start
    case end
    case concat([PatternNode])
    case alternation([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?)

    var isAnchoredAtStart: Bool {
        switch self {
        case .start: true
        case .concat(let items): items.first?.isAnchoredAtStart ?? false
        case .alternation(let branches): branches.allSatisfy(\.isAnchoredAtStart)
        default: false
        }
    }
}

struct PatternParser {
    let scalars: [Unicode.Scalar]
    var position = 0
    var depth = 0

    init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    private var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private func error(_ message: String, at offset: Int? = nil) -> SafePattern.Error {
        SafePattern.Error(message: message, offset: offset ?? position)
    }

    mutating func parseAlternation() throws(SafePattern.Error) -> PatternNode {
        var branches = [try parseConcat()]
        while peek == "|" {
            position += 1
            branches.append(try parseConcat())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcat() throws(SafePattern.Error) -> PatternNode {
        var items: [PatternNode] = []
        while let scalar = peek, scalar != "|", scalar != ")" {
            let atomStart = position
            let atom = try parseAtom()
            items.append(try parseQuantifier(atom, atomStart: atomStart))
        }
        return items.count == 1 ? items[0] : .concat(items)
    }

    private mutating func parseAtom() throws(SafePattern.Error) -> PatternNode {
        let scalar = scalars[position]
        switch scalar {
        case "(":
            let open = position
            position += 1
            if peek == "?" {
                guard position + 1 < scalars.count, scalars[position + 1] == ":" else {
                    throw error("only non-capturing groups '(?:' are supported after '(?'", at: open)
                }
                position += 2
            }
            depth += 1
            guard depth <= SafePattern.maxNesting else { throw error("groups nested too deeply", at: open) }
            let inner = try parseAlternation()
            depth -= 1
            guard peek == ")" else { throw error("missing ')'", at: open) }
            position += 1
            return inner
        case "[":
            return .set(try parseClass())
        case ".":
            position += 1
            return .set(.anyButNewline)
        case "^":
            position += 1
            return .start
        case "$":
            position += 1
            return .end
        case "\\":
            return .set(try parseEscape(inClass: false))
        case "*", "+", "?":
            throw error("nothing to repeat before '\(scalar)'")
        case "{":
            if let _ = lookQuantifierBraces() { throw error("nothing to repeat before '{'") }
            position += 1
            return .set(.single(scalar.value))
        default:
            position += 1
            return .set(.single(scalar.value))
        }
    }

    private mutating func parseQuantifier(_ atom: PatternNode, atomStart: Int) throws(SafePattern.Error) -> PatternNode {
        guard let scalar = peek else { return atom }
        var bounds: (min: Int, max: Int?)
        switch scalar {
        case "*": bounds = (0, nil); position += 1
        case "+": bounds = (1, nil); position += 1
        case "?": bounds = (0, 1); position += 1
        case "{":
            guard let (parsed, length) = lookQuantifierBraces() else { return atom }
            bounds = try parsed.get()
            position += length
        default: return atom
        }
        switch atom {
        case .start, .end: throw error("an anchor cannot be repeated", at: atomStart)
        default: break
        }
        if peek == "?" { position += 1 }   // lazy: irrelevant for a yes/no match
        if let next = peek, next == "*" || next == "+" || next == "?" || (next == "{" && lookQuantifierBraces() != nil) {
            throw error("multiple quantifiers in a row (possessive quantifiers are not supported)")
        }
        return .repetition(atom, min: bounds.min, max: bounds.max)
    }

    /// If `{m}`, `{m,}` or `{m,n}` starts at the current position: its bounds (or the error in them) and length.
    private func lookQuantifierBraces() -> (Result<(min: Int, max: Int?), SafePattern.Error>, Int)? {
        guard peek == "{" else { return nil }
        var index = position + 1
        func number() -> Int? {
            var value = 0, digits = 0
            while index < scalars.count, (0x30...0x39).contains(scalars[index].value) {
                value = min(value * 10 + Int(scalars[index].value - 0x30), 1_000_000)
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if index < scalars.count, scalars[index] == "," {
            index += 1
            high = number()
        }
        guard index < scalars.count, scalars[index] == "}" else { return nil }
        let length = index + 1 - position
        if low > SafePattern.maxRepeat || (high ?? 0) > SafePattern.maxRepeat {
            return (.failure(error("a repetition count may be at most \(SafePattern.maxRepeat)")), length)
        }
        if let high, high < low {
            return (.failure(error("in {m,n} m must not exceed n")), length)
        }
        return (.success((low, high)), length)
    }

    private mutating func parseClass() throws(SafePattern.Error) -> ScalarRanges {
        let open = position
        position += 1
        var negated = false
        if peek == "^" { negated = true; position += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let scalar = peek else { throw error("missing ']'", at: open) }
            if scalar == "]" && !first { position += 1; break }
            first = false
            let lowStart = position
            let low = try classItem()
            if peek == "-", position + 1 < scalars.count, scalars[position + 1] != "]" {
                position += 1
                let high = try classItem()
                guard let lowValue = low.singleValue, let highValue = high.singleValue else {
                    throw error("a class range must be between two characters", at: lowStart)
                }
                guard lowValue <= highValue else { throw error("a class range is out of order", at: lowStart) }
                ranges.append(lowValue...highValue)
            } else {
                ranges.append(contentsOf: low.ranges)
            }
        }
        let set = ScalarRanges(ranges)
        return negated ? set.inverted : set
    }

    private mutating func classItem() throws(SafePattern.Error) -> ScalarRanges {
        if peek == "\\" { return try parseEscape(inClass: true) }
        if peek == "[", position + 1 < scalars.count, scalars[position + 1] == ":" {
            throw error("POSIX classes like [:alpha:] are not supported")
        }
        let scalar = scalars[position]
        position += 1
        return .single(scalar.value)
    }

    private mutating func parseEscape(inClass: Bool) throws(SafePattern.Error) -> ScalarRanges {
        let start = position
        position += 1
        guard let scalar = peek else { throw error("a pattern must not end with '\\'", at: start) }
        position += 1
        switch scalar {
        case "d": return .digit
        case "D": return ScalarRanges.digit.inverted
        case "w": return .word
        case "W": return ScalarRanges.word.inverted
        case "s": return .space
        case "S": return ScalarRanges.space.inverted
        case "t": return .single(0x09)
        case "n": return .single(0x0A)
        case "r": return .single(0x0D)
        case "f": return .single(0x0C)
        case "v": return .single(0x0B)
        case "u": return .single(try hexScalar(digits: 4, escapeStart: start))
        case "x": return .single(try hexScalar(digits: 2, escapeStart: start))
        default:
            if scalar.isASCII, scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                throw error("unsupported escape '\\\(scalar)'", at: start)
            }
            return .single(scalar.value)
        }
    }

    private mutating func hexScalar(digits: Int, escapeStart: Int) throws(SafePattern.Error) -> UInt32 {
        guard position + digits <= scalars.count else { throw error("incomplete hex escape", at: escapeStart) }
        var value: UInt32 = 0
        for scalar in scalars[position..<(position + digits)] {
            guard scalar.isASCII, isHexDigit(UInt8(scalar.value)), let digit = UInt32(String(scalar), radix: 16) else {
                throw error("invalid hex escape", at: escapeStart)
            }
            value = value * 16 + digit
        }
        position += digits
        guard Unicode.Scalar(value) != nil else { throw error("the escape is not a Unicode scalar", at: escapeStart) }
        return value
    }
}

extension ScalarRanges {
    var singleValue: UInt32? {
        ranges.count == 1 && ranges[0].lowerBound == ranges[0].upperBound ? ranges[0].lowerBound : nil
    }
}

// MARK: - Compilation and matching

enum Instruction: Sendable {
    case set(ScalarRanges)
    case split(Int, Int)
    case jump(Int)
    case assertStart
    case assertEnd
    case match
}

struct PatternCompiler {
    var program: [Instruction] = []

    mutating func append(_ instruction: Instruction) throws(SafePattern.Error) {
        guard program.count < SafePattern.maxProgramSize else {
            throw SafePattern.Error(message: "pattern is too complex (it expands to more than \(SafePattern.maxProgramSize) steps)",
                                    offset: 0)
        }
        program.append(instruction)
    }

    mutating func emit(_ node: PatternNode) throws(SafePattern.Error) {
        switch node {
        case .set(let ranges): try append(.set(ranges))
        case .start: try append(.assertStart)
        case .end: try append(.assertEnd)
        case .concat(let items):
            for item in items { try emit(item) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = program.count
                    try append(.split(0, 0))
                    try emit(branch)
                    jumps.append(program.count)
                    try append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case .repetition(let inner, let min, let max):
            for _ in 0..<min { try emit(inner) }
            if let max {
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    try append(.split(0, 0))
                    try emit(inner)
                }
                for split in splits { program[split] = .split(split + 1, program.count) }
            } else {
                let loop = program.count
                try append(.split(0, 0))
                try emit(inner)
                try append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        }
    }
}

/// The NFA states live at one input position, each at most once (a sparse set with O(1) clear).
struct ThreadSet {
    private var marks: [UInt32]
    private var generation: UInt32 = 1
    var list: [Int] = []

    init(size: Int) {
        marks = Array(repeating: 0, count: size)
        list.reserveCapacity(size)
    }

    mutating func insert(_ pc: Int) -> Bool {
        if marks[pc] == generation { return false }
        marks[pc] = generation
        list.append(pc)
        return true
    }

    mutating func clear() {
        list.removeAll(keepingCapacity: true)
        generation &+= 1
        if generation == 0 {
            for i in marks.indices { marks[i] = 0 }
            generation = 1
        }
    }
}
