/// Writes JSON straight into bytes, members in the order written: for large answers (hundreds of nodes)
/// where building a `JSONValue` tree of dictionaries first, then sorting every object's keys, costs more
/// than the query. Values that are already trees (documents) go through `JSONWriter`.
public struct JSONStreamWriter {
    public private(set) var bytes: [UInt8] = []
    /// Per open container: whether a member was written (a comma comes first).
    private var started: [Bool] = []

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
        started[started.count - 1] = false
    }

    /// A tree value, its objects in their own order (an answer's member order carries no meaning).
    public mutating func value(_ value: JSONValue) { element { JSONWriter.write(value, into: &$0, sortKeys: false) } }
    public mutating func string(_ text: String) { element { JSONWriter.writeString(text, into: &$0) } }
    public mutating func number(_ value: Int) { element { $0.append(contentsOf: String(value).utf8) } }
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
        started.append(false)
    }

    private mutating func close(_ bracket: UInt8) {
        started.removeLast()
        bytes.append(bracket)
        markStarted()
    }

    private mutating func separate() {
        if let last = started.last, last { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func markStarted() {
        if !started.isEmpty { started[started.count - 1] = true }
    }
}
