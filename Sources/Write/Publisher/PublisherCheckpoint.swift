import Core

/// The publisher's durable position: the by-date key up to which the log is delivered (a contiguous
/// prefix), and the ids it published inside the look-back window, so late entries can be told apart from
/// delivered ones. Stored as `checkpoints/event_publisher.json`.
struct PublisherCheckpoint: Equatable {
    /// Nil: nothing delivered yet (the next cycle starts at `start`).
    var position: EventStorePosition?
    /// By-date names (`{ts_ms:013}_{event_id}.json`) published at or after `position` minus the look-back.
    var recent: Set<String>

    static let recentLimitOnDisk = 5000

    init(position: EventStorePosition?, recent: Set<String> = []) {
        self.position = position
        self.recent = recent
    }

    init(json: JSONValue) {
        position = json["position"]?.stringValue.map(EventStorePosition.init(key:))
        recent = Set(json["recent"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// A lost `recent` entry only causes a re-publish after a restart (at-least-once), so the stored set is
    /// capped to keep the file small; the newest names are kept.
    var json: JSONValue {
        let kept = recent.sorted().suffix(Self.recentLimitOnDisk)
        return [
            "position": position.map { .string($0.key) } ?? .null,
            "recent": .array(kept.map(JSONValue.string)),
            "updated_at": .string(EventTimestamp.format(milliseconds: EventTimestamp.nowMilliseconds())),
        ]
    }

    static func name(of position: EventStorePosition) -> String {
        String(position.key[position.key.index(after: position.key.lastIndex(of: "/") ?? position.key.startIndex)...])
    }

    /// Forgets names older than the look-back window behind the position.
    mutating func trim(lookbackMilliseconds: Int64) {
        guard let position, let now = EventStoreKeys.milliseconds(of: position) else { return }
        let floor = EventTimestamp.pad(Int(max(0, now - lookbackMilliseconds)), 13)
        recent = recent.filter { !$0.utf8.lexicographicallyPrecedes(floor.utf8) }
    }
}

/// Where a first start begins: `SPICE_PUBLISHER_START` is `beginning` (the default: the whole log),
/// `now`, an RFC 3339 date-time or milliseconds since the epoch.
public enum PublisherStart: Sendable, Equatable {
    case beginning
    case at(milliseconds: Int64)

    public init(setting: String?) throws(ConfigurationError) {
        guard let setting, !setting.isEmpty, setting != "beginning" else {
            self = .beginning
            return
        }
        if setting == "now" {
            self = .at(milliseconds: EventTimestamp.nowMilliseconds())
        } else if let milliseconds = Int64(setting), milliseconds >= 0 {
            self = .at(milliseconds: milliseconds)
        } else if let milliseconds = EventTimestamp.parse(setting) {
            self = .at(milliseconds: milliseconds)
        } else {
            throw ConfigurationError(variable: "SPICE_PUBLISHER_START",
                                     message: "is \(setting); expected beginning, now, an RFC 3339 date-time or milliseconds since the epoch")
        }
    }

    var position: EventStorePosition? {
        switch self {
        case .beginning: nil
        case .at(let milliseconds): EventStoreKeys.byDatePosition(before: milliseconds)
        }
    }
}
