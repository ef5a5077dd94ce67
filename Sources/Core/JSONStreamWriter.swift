/// Writes JSON straight into bytes, members in the order written: for large answers (hundreds of nodes)
/// where building a `JSONValue` tree of dictionaries first, then sorting every object's keys, costs more
/// than the query. Values that are already trees go through `JSONWriter`; documents, already text, are copied.
public struct JSONStreamWriter {
    public private(set) var bytes: [UInt8] = []
    /// Per open container, whether a member was written (a comma comes first): bit `n` for the container at
    /// depth `n`, deeper ones in `deeperStarted`. A bit per level, because an array of flags costs a
    /// uniqueness check on every value written.
    private var startedBits: UInt64 = 0
    private var deeperStarted: [Bool] = []
    private var depth = 0

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    public mutating func object(_ body: (inout JSONStreamWriter) -> Void) {
        open(UInt8(ascii: "{"))
        body(&self)
        close(UInt8(ascii: "}"))
    }

    public mutating func array(_ body: (inout JSONStreamWriter) -> Void) {
        open(UInt8(ascii: "["))
        body(&self)
        close(UInt8(ascii: "]"))
    }

    /// The next member's key; its value follows with one of the value writers.
    public mutating func key(_ name: String) {
        separate()
        JSONWriter.writeString(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        // The value that follows is the member's, not a new element.
        setStarted(false)
    }

    /// A tree value, its objects in their own order (an answer's member order carries no meaning).
    public mutating func value(_ value: JSONValue) { element { JSONWriter.write(value, into: &$0, sortKeys: false) } }
    public mutating func string(_ text: String) { element { JSONWriter.writeString(text, into: &$0) } }
    /// `head`, `separator` and `tail` as one string, without building it first (node ids: `Class/instance`).
    public mutating func string(_ head: String, _ separator: Unicode.Scalar, _ tail: String) {
        element { out in
            out.append(UInt8(ascii: "\""))
            JSONWriter.writeStringContents(head, into: &out)
            JSONWriter.writeStringContents(String(separator), into: &out)
            JSONWriter.writeStringContents(tail, into: &out)
            out.append(UInt8(ascii: "\""))
        }
    }
    /// A value that is already JSON text, copied as it is.
    public mutating func json(_ value: JSONObjectText) { element { $0.append(contentsOf: value.text.utf8) } }
    public mutating func number(_ value: Int) { element { JSONWriter.writeInteger(value, into: &$0) } }
    public mutating func number(_ value: Double) { element { JSONWriter.writeNumber(value, into: &$0) } }
    public mutating func bool(_ value: Bool) { element { $0.append(contentsOf: (value ? "true" : "false").utf8) } }
    public mutating func null() { element { $0.append(contentsOf: "null".utf8) } }

    /// `key` then `value`, the common case.
    public mutating func member(_ name: String, _ value: JSONValue) {
        key(name)
        self.value(value)
    }

    private mutating func element(_ write: (inout [UInt8]) -> Void) {
        separate()
        write(&bytes)
        markStarted()
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        depth += 1
        setStarted(false)
    }

    private mutating func close(_ bracket: UInt8) {
        if depth > 64 { deeperStarted.removeLast() }
        depth -= 1
        bytes.append(bracket)
        markStarted()
    }

    private mutating func separate() {
        if isStarted { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func markStarted() {
        if depth > 0 { setStarted(true) }
    }

    /// Whether the innermost open container has a member (false outside any container).
    private var isStarted: Bool {
        guard depth > 0 else { return false }
        return depth <= 64 ? startedBits & (1 << UInt64(depth - 1)) != 0 : deeperStarted[depth - 65]
    }

    private mutating func setStarted(_ started: Bool) {
        if depth <= 64 {
            let bit: UInt64 = 1 << UInt64(depth - 1)
            startedBits = started ? startedBits | bit : startedBits & ~bit
        } else if deeperStarted.count == depth - 64 {
            deeperStarted[depth - 65] = started
        } else {
            deeperStarted.append(started)
        }
    }
}
