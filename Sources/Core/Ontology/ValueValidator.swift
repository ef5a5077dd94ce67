/// Checks JSON values against property types and constraints. The format checks are pragmatic: they accept what
/// real systems send and refuse what is plainly wrong, without pretending to implement every RFC corner.
public enum ValueValidator {
    /// Largest whole number a JSON number (an IEEE double) holds exactly: 2^53 − 1.
    public static let maxSafeInteger = 9_007_199_254_740_991.0

    // MARK: Applying a property

    /// Validates `value` against `property`'s type, items, enum list and constraints. Throws a 400 whose `field`
    /// is `field` (or `field[i]` for an element of an array); codes `invalid_value` and `constraint_violation`.
    public static func validate(_ value: JSONValue, property: Property, field: String) throws(Problem) {
        let constraints = property.constraints
        if property.type == .array {
            guard case .array(let elements) = value else {
                throw invalidValue("expected an array, got \(kindName(value))", field: field)
            }
            try checkBounds(count: elements.count, constraints: constraints, what: "items", field: field, includeMinMax: true)
            for (index, element) in elements.enumerated() {
                let path = "\(field)[\(index)]"
                if let itemType = property.items, let reason = typeError(element, type: itemType) {
                    throw invalidValue(reason, field: path)
                }
                try checkEnum(element, property.enumValues, field: path)
                try checkPattern(element, constraints.pattern, field: path)
            }
            return
        }
        if let reason = typeError(value, type: property.type) { throw invalidValue(reason, field: field) }
        try checkEnum(value, property.enumValues, field: field)

        let type = property.type
        if type.isNumeric, let number = numericValue(value, type: type) {
            if case .number(let low)? = constraints.min, number < low {
                throw constraintViolation("must be at least \(formatNumber(low)), got \(formatNumber(number))", field: field)
            }
            if case .number(let high)? = constraints.max, number > high {
                throw constraintViolation("must be at most \(formatNumber(high)), got \(formatNumber(number))", field: field)
            }
        } else if type == .date || type == .dateTime, case .string(let text) = value,
                  let instant = temporalValue(text, type: type) {
            if case .text(let low)? = constraints.min, let bound = temporalValue(low, type: type), instant < bound {
                throw constraintViolation("must not be before \(low)", field: field)
            }
            if case .text(let high)? = constraints.max, let bound = temporalValue(high, type: type), instant > bound {
                throw constraintViolation("must not be after \(high)", field: field)
            }
        } else if type.isTextual, case .string(let text) = value {
            try checkBounds(count: text.unicodeScalars.count, constraints: constraints, what: "characters", field: field,
                            includeMinMax: true)
        }
        if !type.isTextual, case .string(let text) = value {
            try checkBounds(count: text.unicodeScalars.count, constraints: constraints, what: "characters", field: field,
                            includeMinMax: false)
        }
        try checkPattern(value, constraints.pattern, field: field)
    }

    /// Why `value` is not a value of `type`, or nil if it is one. (For `enum` this only checks the value is a
    /// scalar; membership depends on the property. For `array` it does not look at the elements.)
    public static func typeError(_ value: JSONValue, type: PropertyType) -> String? {
        switch type {
        case .string:
            return value.stringValue != nil ? nil : expected("a string", value)
        case .integer, .long:
            guard case .number(let n) = value, n.rounded() == n else { return expected("an integer (a whole number)", value) }
            return abs(n) <= maxSafeInteger ? nil : "the integer \(describe(value)) is too large (at most ±2^53−1)"
        case .int:
            guard case .number(let n) = value, n.rounded() == n else { return expected("an integer (a whole number)", value) }
            return n >= -2_147_483_648 && n <= 2_147_483_647 ? nil : "\(describe(value)) is out of the 32-bit int range"
        case .decimal:
            if case .number = value { return nil }
            if case .string(let s) = value, isNumericString(s) { return nil }
            return expected("a decimal number or a numeric string", value)
        case .double:
            return value.doubleValue != nil ? nil : expected("a number", value)
        case .float:
            guard case .number(let n) = value else { return expected("a number", value) }
            return abs(n) <= 3.4028234663852886e38 ? nil : "\(describe(value)) is out of the float range"
        case .boolean:
            return value.boolValue != nil ? nil : expected("true or false", value)
        case .date:
            guard case .string(let s) = value, isValidDate(s) else { return expected("a date YYYY-MM-DD", value) }
            return nil
        case .dateTime:
            guard case .string(let s) = value, isValidDateTime(s) else {
                return expected("an RFC 3339 date-time with an offset (e.g. 2024-05-01T12:30:00Z)", value)
            }
            return nil
        case .time:
            guard case .string(let s) = value, isValidTime(s) else { return expected("a time HH:MM:SS", value) }
            return nil
        case .anyURI:
            guard case .string(let s) = value, isValidAnyURI(s) else { return expected("an absolute URI", value) }
            return nil
        case .array:
            return value.arrayValue != nil ? nil : expected("an array", value)
        case .object:
            return value.objectValue != nil ? nil : expected("an object", value)
        case .enumeration:
            switch value {
            case .string, .number, .bool: return nil
            default: return expected("one of the enumerated values", value)
            }
        case .money:
            return money(value) != nil ? nil
                : expected(#"money: {"amount": number, "currency": "USD"} or "12.50 USD""#, value)
        case .phone:
            guard case .string(let s) = value, isValidPhone(s) else { return expected("a phone number (7 to 15 digits)", value) }
            return nil
        case .email:
            guard case .string(let s) = value, isValidEmail(s) else { return expected("an email address", value) }
            return nil
        case .coordinate:
            return coordinate(value) != nil ? nil
                : expected(#"a coordinate {"lat": -90…90, "lon": -180…180}"#, value)
        case .address:
            return isValidAddress(value) ? nil
                : expected("an address object with at least one of street, city, postal_code, state, country", value)
        case .url:
            guard case .string(let s) = value, isValidURL(s) else { return expected("an http or https URL", value) }
            return nil
        case .uuid:
            guard case .string(let s) = value, isValidUUID(s) else { return expected("a UUID (8-4-4-4-12 hex digits)", value) }
            return nil
        case .image, .file:
            if case .string(let s) = value, isValidURL(s) { return nil }
            if case .object(let members) = value, case .string(let s)? = members["url"], isValidURL(s) { return nil }
            return expected(#"a URL or an object {"url": "https://…"}"#, value)
        case .ip:
            guard case .string(let s) = value, isValidIPAddress(s) else { return expected("an IPv4 or IPv6 address", value) }
            return nil
        }
    }

    /// The number a numeric value stands for (a money value's amount, a decimal string's value).
    public static func numericValue(_ value: JSONValue, type: PropertyType) -> Double? {
        switch value {
        case .number(let n): return n
        case .string(let s) where type == .decimal: return isNumericString(s) ? Double(s) : nil
        default: return type == .money ? money(value)?.amount : nil
        }
    }

    /// A date (days since 1970-01-01) or date-time (seconds since the epoch, UTC) for chronological comparison;
    /// for `dateTime` a plain date counts as its midnight UTC.
    public static func temporalValue(_ text: String, type: PropertyType) -> Double? {
        switch type {
        case .date:
            guard let d = parseDate(Array(text.utf8)[...]) else { return nil }
            return Double(daysFromCivil(d.year, d.month, d.day))
        case .dateTime:
            if let seconds = parseDateTime(text) { return seconds }
            guard let d = parseDate(Array(text.utf8)[...]) else { return nil }
            return Double(daysFromCivil(d.year, d.month, d.day)) * 86_400
        default:
            return nil
        }
    }

    // MARK: Problems

    static func invalidValue(_ message: String, field: String) -> Problem {
        Problem(status: 400, code: "invalid_value", detail: message, field: field)
    }

    static func constraintViolation(_ message: String, field: String) -> Problem {
        Problem(status: 400, code: "constraint_violation", detail: message, field: field)
    }

    private static func expected(_ what: String, _ value: JSONValue) -> String {
        "expected \(what), got \(describe(value))"
    }

    private static func checkEnum(_ value: JSONValue, _ allowed: [JSONValue]?, field: String) throws(Problem) {
        guard let allowed, !allowed.contains(value) else { return }
        let shown = allowed.prefix(10).map { describe($0, limit: 30) }.joined(separator: ", ") + (allowed.count > 10 ? ", …" : "")
        throw constraintViolation("\(describe(value)) is not one of the allowed values: \(shown)", field: field)
    }

    private static func checkPattern(_ value: JSONValue, _ pattern: SafePattern?, field: String) throws(Problem) {
        guard let pattern, case .string(let text) = value else { return }
        guard pattern.canMatch(text) else {
            throw constraintViolation("the value is too long to be checked against the pattern", field: field)
        }
        guard !pattern.matches(text) else { return }
        throw constraintViolation("\(describe(value)) does not match the pattern \(excerpt(pattern.source))", field: field)
    }

    private static func checkBounds(count: Int, constraints: PropertyConstraints, what: String, field: String,
                                    includeMinMax: Bool) throws(Problem) {
        var low = constraints.minLength, high = constraints.maxLength
        if includeMinMax {
            if case .number(let n)? = constraints.min { low = max(low ?? 0, Int(n.rounded(.up))) }
            if case .number(let n)? = constraints.max { high = min(high ?? Int.max, Int(n.rounded(.down))) }
        }
        if let low, count < low { throw constraintViolation("must have at least \(low) \(what), has \(count)", field: field) }
        if let high, count > high { throw constraintViolation("must have at most \(high) \(what), has \(count)", field: field) }
    }

    // MARK: Numbers

    /// `[+-]digits[.digits][e[+-]digits]` (also `.5` and `5.`), at most 100 characters; no NaN or Infinity.
    public static func isNumericString(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard !b.isEmpty, b.count <= 100 else { return false }
        var i = 0
        if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        while i < b.count, isDigit(b[i]) { i += 1; digits += 1 }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < b.count, isDigit(b[i]) { i += 1; digits += 1 }
        }
        guard digits > 0 else { return false }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            var exponentDigits = 0
            while i < b.count, isDigit(b[i]) { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { return false }
        }
        guard i == b.count, let value = Double(text) else { return false }
        return value.isFinite
    }

    // MARK: Dates and times

    public static func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysInMonth(_ month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `YYYY-MM-DD`, a real calendar date (years 0001–9999, leap years honoured).
    public static func isValidDate(_ text: String) -> Bool { parseDate(Array(text.utf8)[...]) != nil }

    /// RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`/space separators and `z` are accepted, a leap
    /// second (`:60`) only at minute 59.
    public static func isValidDateTime(_ text: String) -> Bool { parseDateTime(text) != nil }

    /// `HH:MM:SS[.fraction][Z|±HH:MM]`.
    public static func isValidTime(_ text: String) -> Bool {
        let b = Array(text.utf8)[...]
        guard let (_, rest) = parseTimeOfDay(b) else { return false }
        return rest.isEmpty || parseOffset(rest) != nil
    }

    static func parseDate(_ b: ArraySlice<UInt8>) -> (year: Int, month: Int, day: Int)? {
        guard b.count == 10 else { return nil }
        let s = b.startIndex
        guard b[s + 4] == dash, b[s + 7] == dash,
              let year = digits(b, s, 4), let month = digits(b, s + 5, 2), let day = digits(b, s + 8, 2),
              year >= 1, (1...12).contains(month), day >= 1, day <= daysInMonth(month, year: year) else { return nil }
        return (year, month, day)
    }

    /// Seconds since the epoch (UTC) of an RFC 3339 date-time, or nil.
    static func parseDateTime(_ text: String) -> Double? {
        let b = Array(text.utf8)[...]
        guard b.count >= 20, let date = parseDate(b.prefix(10)) else { return nil }
        let separator = b[b.startIndex + 10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == 0x20,
              let (seconds, rest) = parseTimeOfDay(b.dropFirst(11)), let offset = parseOffset(rest) else { return nil }
        return Double(daysFromCivil(date.year, date.month, date.day)) * 86_400 + seconds - Double(offset)
    }

    /// `HH:MM:SS[.fraction]` at the start of `b`: seconds into the day and the remaining bytes.
    private static func parseTimeOfDay(_ b: ArraySlice<UInt8>) -> (Double, ArraySlice<UInt8>)? {
        let s = b.startIndex
        guard b.count >= 8, b[s + 2] == colon, b[s + 5] == colon,
              let hour = digits(b, s, 2), let minute = digits(b, s + 3, 2), let second = digits(b, s + 6, 2),
              hour <= 23, minute <= 59, second <= 59 || (second == 60 && minute == 59) else { return nil }
        var index = s + 8
        var fraction = 0.0
        if index < b.endIndex, b[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1, count = 0
            while index < b.endIndex, isDigit(b[index]) {
                fraction += Double(b[index] - 0x30) * scale
                scale /= 10
                count += 1
                index += 1
            }
            guard (1...12).contains(count) else { return nil }
        }
        return (Double(hour * 3600 + minute * 60 + second) + fraction, b[index...])
    }

    /// `Z`, `z` or `±HH:MM` making up all of `b`: the offset in seconds east of UTC.
    private static func parseOffset(_ b: ArraySlice<UInt8>) -> Int? {
        if b.count == 1, b.first == UInt8(ascii: "Z") || b.first == UInt8(ascii: "z") { return 0 }
        let s = b.startIndex
        guard b.count == 6, b[s] == UInt8(ascii: "+") || b[s] == dash, b[s + 3] == colon,
              let hours = digits(b, s + 1, 2), let minutes = digits(b, s + 4, 2), hours <= 23, minutes <= 59 else { return nil }
        let offset = hours * 3600 + minutes * 60
        return b[s] == dash ? -offset : offset
    }

    private static func digits(_ b: ArraySlice<UInt8>, _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for i in start..<(start + count) {
            guard isDigit(b[i]) else { return nil }
            value = value * 10 + Int(b[i] - 0x30)
        }
        return value
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (the one conversion lives in EventTimestamp).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        EventTimestamp.daysFromCivil(year: year, month: month, day: day)
    }

    // MARK: Internet formats

    /// One `@`; a non-empty local part (≤64, no spaces, no leading/trailing/double dots); a domain with a dot whose
    /// labels are 1–63 letters, digits or hyphens (or non-ASCII), not edged by hyphens; at most 254 bytes.
    public static func isValidEmail(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count <= 254, let at = b.firstIndex(of: UInt8(ascii: "@")), b.lastIndex(of: UInt8(ascii: "@")) == at else {
            return false
        }
        let local = b[..<at], domain = b[(at + 1)...]
        guard !local.isEmpty, local.count <= 64, local.first != dot, local.last != dot else { return false }
        var previous: UInt8 = 0
        for c in local {
            if c <= 0x20 || c == 0x7F || "()<>[]\\,;:\"".utf8.contains(c) { return false }
            if c == dot && previous == dot { return false }
            previous = c
        }
        guard isValidHostName(domain, requireDot: true) else { return false }
        return true
    }

    /// `http://` or `https://` (any case), a host (name, IPv4 or `[IPv6]`), an optional port 0–65535, then any
    /// path, query and fragment; no whitespace or control characters; at most 2048 bytes.
    public static func isValidURL(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count <= 2048, !b.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { return false }
        let lower = b.prefix(8).map { isUpper($0) ? $0 | 0x20 : $0 }
        let schemeLength: Int
        if lower.starts(with: "https://".utf8) { schemeLength = 8 } else if lower.starts(with: "http://".utf8) { schemeLength = 7 } else {
            return false
        }
        let rest = b[schemeLength...]
        let authorityEnd = rest.firstIndex { $0 == slash || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.endIndex
        var hostPort = rest[..<authorityEnd]
        if let at = hostPort.lastIndex(of: UInt8(ascii: "@")) { hostPort = hostPort[(at + 1)...] }
        guard !hostPort.isEmpty else { return false }
        var host: ArraySlice<UInt8>
        var port: ArraySlice<UInt8>? = nil
        if hostPort.first == UInt8(ascii: "[") {
            guard let close = hostPort.firstIndex(of: UInt8(ascii: "]")) else { return false }
            guard isValidIPv6(String(decoding: hostPort[(hostPort.startIndex + 1)..<close], as: UTF8.self)) else { return false }
            let after = hostPort[(close + 1)...]
            if !after.isEmpty {
                guard after.first == colon else { return false }
                port = after.dropFirst()
            }
            host = []
        } else {
            host = hostPort
            if let c = hostPort.lastIndex(of: colon) {
                host = hostPort[..<c]
                port = hostPort[(c + 1)...]
            }
            guard isValidHostName(host, requireDot: false) else { return false }
        }
        if let port {
            guard (1...5).contains(port.count), port.allSatisfy(isDigit),
                  let value = Int(String(decoding: port, as: UTF8.self)), value <= 65_535 else { return false }
        }
        return true
    }

    /// Labels of letters, digits, hyphens or non-ASCII bytes, 1–63 each, not starting or ending with a hyphen;
    /// all-numeric names must be IPv4 addresses; with `requireDot` the last label has ≥2 characters, not all digits.
    private static func isValidHostName(_ b: ArraySlice<UInt8>, requireDot: Bool) -> Bool {
        guard !b.isEmpty, b.count <= 253 else { return false }
        let labels = b.split(separator: dot, omittingEmptySubsequences: false)
        if requireDot && labels.count < 2 { return false }
        for label in labels {
            guard (1...63).contains(label.count), label.first != dash, label.last != dash,
                  label.allSatisfy({ isLetter($0) || isDigit($0) || $0 == dash || $0 >= 0x80 }) else { return false }
        }
        let allNumeric = labels.allSatisfy { $0.allSatisfy(isDigit) }
        if allNumeric { return !requireDot && isValidIPv4(String(decoding: b, as: UTF8.self)) }
        if requireDot, let last = labels.last, last.count < 2 || last.allSatisfy(isDigit) { return false }
        return true
    }

    /// An absolute URI: a scheme (`letter (letter|digit|+|-|.)*`), a colon, something after it, no whitespace.
    public static func isValidAnyURI(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count <= 4096, let c = b.firstIndex(of: colon), c > 0, c < b.count - 1, isLetter(b[0]),
              b[..<c].allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "+") || $0 == dash || $0 == dot }),
              !b.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { return false }
        return true
    }

    /// 8-4-4-4-12 hexadecimal digits, any case.
    public static func isValidUUID(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 { if c != dash { return false } } else if !isHexDigit(c) { return false }
        }
        return true
    }

    /// E.164-ish: an optional leading `+`, 7–15 digits, separated by spaces, `-`, `.` or one `( … )` group.
    public static func isValidPhone(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard !b.isEmpty, b.count <= 40 else { return false }
        var digitCount = 0, open = false, groups = 0
        for (i, c) in b.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digitCount += 1
            case UInt8(ascii: "+"): if i != 0 { return false }
            case 0x20, dash, dot: break
            case UInt8(ascii: "("):
                if open || groups > 0 { return false }
                open = true
            case UInt8(ascii: ")"):
                if !open { return false }
                open = false
                groups += 1
            default: return false
            }
        }
        let first = b[0]
        guard first == UInt8(ascii: "+") || first == UInt8(ascii: "(") || isDigit(first) else { return false }
        return !open && (7...15).contains(digitCount) && isDigit(b[b.count - 1])
    }

    /// Dotted-quad IPv4, each part 0–255 without leading zeros.
    public static func isValidIPv4(_ text: String) -> Bool {
        let parts = Array(text.utf8).split(separator: dot, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(isDigit), part.count == 1 || part.first != UInt8(ascii: "0"),
                  let value = Int(String(decoding: part, as: UTF8.self)), value <= 255 else { return false }
        }
        return true
    }

    /// IPv6 in RFC 4291 text form: eight groups of 1–4 hex digits, one `::` for a run of zero groups, an optional
    /// trailing dotted IPv4. No zone ids.
    public static func isValidIPv6(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count >= 2, b.count <= 45 else { return false }
        var halves: [ArraySlice<UInt8>] = []
        var i = 0, start = 0, compressed = false
        while i < b.count {
            if b[i] == colon, i + 1 < b.count, b[i + 1] == colon {
                if compressed { return false }
                compressed = true
                halves.append(b[start..<i])
                i += 2
                start = i
                continue
            }
            i += 1
        }
        halves.append(b[start...])
        var groups = 0
        for (index, half) in halves.enumerated() {
            if half.isEmpty { continue }
            let parts = half.split(separator: colon, omittingEmptySubsequences: false)
            for (partIndex, part) in parts.enumerated() {
                let isLast = index == halves.count - 1 && partIndex == parts.count - 1
                if isLast, part.contains(dot) {
                    guard isValidIPv4(String(decoding: part, as: UTF8.self)) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.count), part.allSatisfy(isHexDigit) else { return false }
                    groups += 1
                }
            }
        }
        return compressed ? groups <= 7 : groups == 8
    }

    public static func isValidIPAddress(_ text: String) -> Bool { isValidIPv4(text) || isValidIPv6(text) }

    // MARK: Composite types

    /// Three uppercase ASCII letters (ISO 4217 shape).
    public static func isCurrencyCode(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return b.count == 3 && b.allSatisfy(isUpper)
    }

    /// `{"amount": number | numeric string, "currency": "USD"}` (nothing else), or `"12.50 USD"` / `"USD 12.50"`.
    public static func money(_ value: JSONValue) -> (amount: Double, currency: String)? {
        switch value {
        case .object(let members):
            guard members.count == 2, case .string(let currency)? = members["currency"], isCurrencyCode(currency) else { return nil }
            switch members["amount"] {
            case .number(let n)?: return (n, currency)
            case .string(let s)? where isNumericString(s): return Double(s).map { ($0, currency) }
            default: return nil
            }
        case .string(let text):
            let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard parts.count == 2 else { return nil }
            if isCurrencyCode(parts[1]), isNumericString(parts[0]), let amount = Double(parts[0]) { return (amount, parts[1]) }
            if isCurrencyCode(parts[0]), isNumericString(parts[1]), let amount = Double(parts[1]) { return (amount, parts[0]) }
            return nil
        default:
            return nil
        }
    }

    /// `{"lat": -90…90, "lon" | "lng": -180…180}` (also `latitude`/`longitude`), or the string `"lat,lon"`.
    public static func coordinate(_ value: JSONValue) -> (latitude: Double, longitude: Double)? {
        var latitude: Double?, longitude: Double?
        switch value {
        case .object(let members):
            let latKeys = ["lat", "latitude"].filter { members[$0] != nil }
            let lonKeys = ["lon", "lng", "longitude"].filter { members[$0] != nil }
            guard latKeys.count == 1, lonKeys.count == 1 else { return nil }
            latitude = members[latKeys[0]]?.doubleValue
            longitude = members[lonKeys[0]]?.doubleValue
        case .string(let text):
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).ontologyTrimmed }
            guard parts.count == 2, isNumericString(parts[0]), isNumericString(parts[1]) else { return nil }
            latitude = Double(parts[0])
            longitude = Double(parts[1])
        default:
            return nil
        }
        guard let latitude, let longitude, (-90...90).contains(latitude), (-180...180).contains(longitude) else { return nil }
        return (latitude, longitude)
    }

    /// The members an address may carry; at least one must be a non-empty string, and every member must be a string.
    public static let addressKeys: Set<String> = [
        "street", "street2", "street_address", "line1", "line2", "city", "district", "state", "region", "province",
        "postal_code", "postalCode", "zip", "zip_code", "country", "country_code", "countryCode", "formatted",
    ]

    public static func isValidAddress(_ value: JSONValue) -> Bool {
        guard case .object(let members) = value, !members.isEmpty else { return false }
        var hasContent = false
        for (key, member) in members {
            guard case .string(let text) = member else { return false }
            if addressKeys.contains(key), !LocalizedText.isBlank(text) { hasContent = true }
        }
        return hasContent
    }
}

let dot = UInt8(ascii: ".")
