/// SQL that renders a timestamptz column as the API's RFC 3339 form (UTC, milliseconds):
/// `2026-11-22T07:55:39.123Z`.
public enum PostgresTimestampText {
    public static func rfc3339(_ column: String) -> String {
        #"to_char("# + column + #" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
    }
}
