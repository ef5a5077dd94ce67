import Foundation

/// Chaos testing: `SPICE_CHAOS_CRASH_POINT=<handler>.<point>` (say `instance_worker.after_claim`) makes the
/// process exit with status 70 the first time a handler reaches that point — compiled in, off unless set.
/// "Once" survives restarts: a marker file in the data directory records that the crash happened, so the
/// restarted process (same environment) runs through and the test can watch it converge.
public struct CrashPoints: Sendable {
    public static let exitStatus: Int32 = 70
    private let target: (handler: String, point: CrashPoint)?
    private let markerPath: String?

    public static let disabled = CrashPoints(setting: nil, dataDirectory: nil)

    /// `setting` is the variable's value; an unknown point is a configuration error naming the valid ones.
    public init(setting: String?, dataDirectory: String?) {
        guard let setting, !setting.isEmpty, let dot = setting.lastIndex(of: "."),
              let point = CrashPoint(rawValue: String(setting[setting.index(after: dot)...])) else {
            target = nil
            markerPath = nil
            return
        }
        target = (String(setting[..<dot]), point)
        markerPath = dataDirectory.map { $0 + "/chaos-crashed-" + setting }
    }

    /// Nil when `setting` is empty or valid; otherwise why it is not.
    public static func problem(with setting: String?) -> String? {
        guard let setting, !setting.isEmpty else { return nil }
        let points = CrashPoint.allCases.map(\.rawValue).joined(separator: ", ")
        guard let dot = setting.lastIndex(of: "."), dot != setting.startIndex,
              CrashPoint(rawValue: String(setting[setting.index(after: dot)...])) != nil else {
            return "SPICE_CHAOS_CRASH_POINT=\(setting) is not <handler>.<point> with a point among \(points)"
        }
        return nil
    }

    public var isArmed: Bool { target != nil }

    func reach(handler: String, point: CrashPoint) {
        guard let target, target.handler == handler, target.point == point else { return }
        if let markerPath {
            if FileManager.default.fileExists(atPath: markerPath) { return }
            _ = FileManager.default.createFile(atPath: markerPath, contents: Data("\(handler).\(point.rawValue)\n".utf8))
        }
        FileHandle.standardError.write(Data("chaos: crashing at \(handler).\(point.rawValue)\n".utf8))
        _exit(CrashPoints.exitStatus)
    }
}
