/// One HTTP/2 stream's request as it arrives and its response as it leaves.
final class HTTP2Stream {
    let id: Int32
    var method = ""
    var path = ""
    var authority: String?
    var headers = HTTPHeaders()
    var headerBytes = 0
    var body: [UInt8] = []
    /// Set when the request broke a limit; it is answered with this status instead of being handled.
    var rejection: (status: Int, detail: String)?
    var inFlight: InFlightRequest?
    var responded = false

    // Response body not yet handed to nghttp2.
    var outgoing: [UInt8] = []
    var outgoingOffset = 0
    /// False while a streaming body may still produce chunks.
    var outgoingComplete = true
    var deferred = false
    var streamTask: Task<Void, Never>?

    init(id: Int32) { self.id = id }

    func cancel() {
        inFlight?.cancel()
        inFlight = nil
        streamTask?.cancel()
        streamTask = nil
    }
}
