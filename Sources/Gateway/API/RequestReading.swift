import Core

/// Small readers shared by the API routes: JSON object bodies, paging, path parameters, output language.
extension Request {
    func jsonObjectBody(limits: JSONParser.Limits) throws(Problem) -> [String: JSONValue] {
        guard case .object(let object) = try jsonBody(limits: limits) else {
            throw Problem.badRequest("the body must be a JSON object", field: "body")
        }
        return object
    }

    func parameter(_ name: String) -> String { pathParameters[name] ?? "" }

    /// `limit` (1…1000, default 100) and `offset` (≥ 0).
    func paging(defaultLimit: Int = 100) throws(Problem) -> (limit: Int, offset: Int) {
        let query = queryParameters
        var limit = defaultLimit, offset = 0
        if let raw = query["limit"] {
            guard let value = Int(raw), (1...1000).contains(value) else {
                throw Problem.badRequest("limit must be an integer between 1 and 1000", field: "query.limit")
            }
            limit = value
        }
        if let raw = query["offset"] {
            guard let value = Int(raw), value >= 0 else {
                throw Problem.badRequest("offset must be a non-negative integer", field: "query.offset")
            }
            offset = value
        }
        return (limit, offset)
    }

    /// Languages the client prefers: `?lang` first, then `Accept-Language`; empty means "all languages".
    var preferredLanguages: [String] {
        let lang = queryParameters["lang"]
        let accept = headers["accept-language"]
        guard lang != nil || accept != nil else { return [] }
        return LocalizedText.preferredLanguages(acceptLanguage: accept, lang: lang)
    }
}

/// Labels and descriptions in the client's language: with a preference each becomes one string, without
/// one the full `{lang: text}` map is returned.
enum Localization {
    static func localize(_ value: JSONValue, preferred: [String]) -> JSONValue {
        guard !preferred.isEmpty else { return value }
        switch value {
        case .object(var object):
            for key in ["label", "description", "inverse_label"] {
                if let text = object[key], let localized = try? LocalizedText(json: text, field: key, maxLength: .max) {
                    object[key] = .string(localized.resolve(preferred: preferred))
                }
            }
            for (key, member) in object where key != "label" && key != "description" && key != "inverse_label" {
                object[key] = localize(member, preferred: preferred)
            }
            return .object(object)
        case .array(let items):
            return .array(items.map { localize($0, preferred: preferred) })
        default:
            return value
        }
    }
}
