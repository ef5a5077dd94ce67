/// A label or description: either one string or a map of language tag → string (`{"en": "…", "ko": "…"}`).
/// Language tags are BCP 47-ish (`en`, `ko`, `pt-BR`, `zh-Hant-TW`), normalised so `EN_us` and `en-US` are one key.
public enum LocalizedText: Sendable, Hashable {
    case plain(String)
    case localized([String: String])

    /// The longest label a client may send (per language).
    public static let maxLabelLength = 200
    /// The longest description a client may send (per language).
    public static let maxDescriptionLength = 5000

    /// Parses a string or a language map. Keys must be language tags; empty values are dropped; at least one
    /// non-empty value must remain; values longer than `maxLength` characters are refused.
    public init(json: JSONValue, field: String, maxLength: Int = LocalizedText.maxLabelLength) throws(Problem) {
        switch json {
        case .string(let text):
            guard !LocalizedText.isBlank(text) else { throw Problem.badRequest("the text must not be empty", field: field) }
            guard text.count <= maxLength else {
                throw Problem.badRequest("the text must be at most \(maxLength) characters long", field: field)
            }
            self = .plain(text)
        case .object(let members):
            var values: [String: String] = [:]
            for key in members.keys.sorted() {
                let path = fieldPath(field, key)
                guard let tag = LocalizedText.normalizeLanguageTag(key) else {
                    throw Problem.badRequest("'\(excerpt(key))' is not a language tag (expected e.g. 'en', 'ko', 'pt-BR')",
                                             field: path)
                }
                guard case .string(let text) = members[key]! else {
                    throw Problem.badRequest("the text for '\(tag)' must be a string, got \(kindName(members[key]!))", field: path)
                }
                guard text.count <= maxLength else {
                    throw Problem.badRequest("the text must be at most \(maxLength) characters long", field: path)
                }
                if LocalizedText.isBlank(text) { continue }
                if values[tag] != nil {
                    throw Problem.badRequest("the language '\(tag)' is given twice", field: path)
                }
                values[tag] = text
            }
            guard !values.isEmpty else {
                throw Problem.badRequest("at least one language must have a non-empty text", field: field)
            }
            self = .localized(values)
        default:
            throw Problem.badRequest("expected a string or an object of language → string, got \(kindName(json))", field: field)
        }
    }

    public var json: JSONValue {
        switch self {
        case .plain(let text): .string(text)
        case .localized(let values): .object(values.mapValues { .string($0) })
        }
    }

    /// The texts by language (empty for a plain text).
    public var values: [String: String] {
        if case .localized(let values) = self { return values }
        return [:]
    }

    /// The text for exactly this language tag, if given.
    public subscript(language: String) -> String? {
        guard case .localized(let values) = self, let tag = LocalizedText.normalizeLanguageTag(language) else { return nil }
        return values[tag]
    }

    /// The text in the first preferred language available (an exact tag, else the same primary language), then
    /// English, then any (the alphabetically first tag, so the choice is stable).
    public func resolve(preferred: [String] = []) -> String {
        let values: [String: String]
        switch self {
        case .plain(let text): return text
        case .localized(let v): values = v
        }
        for wanted in preferred + ["en"] {
            guard let tag = LocalizedText.normalizeLanguageTag(wanted) else { continue }
            if let text = values[tag] { return text }
            let primary = LocalizedText.primarySubtag(tag)
            if let text = values[primary] { return text }
            if let key = values.keys.filter({ LocalizedText.primarySubtag($0) == primary }).min() { return values[key]! }
        }
        guard let first = values.keys.min() else { return "" }
        return values[first]!
    }

    // MARK: Language tags

    /// Whether `tag` is a language tag as accepted: `^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$` after normalisation.
    public static func isLanguageTag(_ tag: String) -> Bool { normalizeLanguageTag(tag) != nil }

    /// The canonical form of a language tag (`EN_us` → `en-US`, `zh-hant-tw` → `zh-Hant-TW`), or nil if it is not
    /// one: primary subtag 2–3 letters, then subtags of 2–8 letters or digits; `_` is read as `-`.
    public static func normalizeLanguageTag(_ tag: String) -> String? {
        let bytes = Array(tag.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        let parts = bytes.split(separator: dash, omittingEmptySubsequences: false)
            .flatMap { $0.split(separator: underscore, omittingEmptySubsequences: false) }
        guard let primary = parts.first, (2...3).contains(primary.count), primary.allSatisfy(isLetter) else { return nil }
        var out = String(decoding: primary.map { $0 | 0x20 }, as: UTF8.self)
        for (index, part) in parts.dropFirst().enumerated() {
            guard (2...8).contains(part.count), part.allSatisfy({ isLetter($0) || isDigit($0) }) else { return nil }
            let lowered = part.map { isUpper($0) ? $0 | 0x20 : $0 }
            var shaped = lowered
            if part.count == 2, part.allSatisfy(isLetter) {
                shaped = lowered.map { $0 & ~0x20 }                        // region: US
            } else if part.count == 4, index == 0, part.allSatisfy(isLetter) {
                shaped[0] = shaped[0] & ~0x20                               // script: Hant
            }
            out += "-" + String(decoding: shaped, as: UTF8.self)
        }
        return out
    }

    /// The language preference list of a request: `?lang=` first, then the `Accept-Language` header's tags in
    /// descending q order (ties keep header order). `*`, malformed tags and `q=0` entries are dropped.
    public static func preferredLanguages(acceptLanguage: String?, lang: String? = nil) -> [String] {
        var result: [String] = []
        if let lang, let tag = normalizeLanguageTag(lang.ontologyTrimmed) { result.append(tag) }
        guard let header = acceptLanguage else { return result }
        var weighted: [(tag: String, q: Double, order: Int)] = []
        for (order, entry) in header.utf8.prefix(4096).split(separator: UInt8(ascii: ",")).prefix(64).enumerated() {
            let pieces = entry.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
            let rawTag = String(decoding: pieces[0], as: UTF8.self).ontologyTrimmed
            guard let tag = normalizeLanguageTag(rawTag) else { continue }
            var q = 1.0
            var valid = true
            for parameter in pieces.dropFirst() {
                let text = String(decoding: parameter, as: UTF8.self).ontologyTrimmed
                guard text.hasPrefix("q=") || text.hasPrefix("Q=") else { continue }
                if let value = Double(text.dropFirst(2)), value >= 0, value <= 1 { q = value } else { valid = false }
            }
            if valid, q > 0 { weighted.append((tag, q, order)) }
        }
        weighted.sort { $0.q != $1.q ? $0.q > $1.q : $0.order < $1.order }
        for entry in weighted where !result.contains(entry.tag) { result.append(entry.tag) }
        return result
    }

    static func primarySubtag(_ tag: String) -> String {
        if let i = tag.utf8.firstIndex(of: dash) { return String(tag[..<i]) }
        return tag
    }

    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
    }
}

extension LocalizedText: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .plain(value) }
}

extension String {
    /// The string without leading and trailing ASCII spaces and tabs.
    var ontologyTrimmed: String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
