/// Forwards a streaming response body (server-sent events) from the handler's AsyncStream to a loop-bound
/// writer, chunk by chunk. Cancelling the returned task stops the handler's stream.
enum ResponseStreamPump {
    static func start(_ stream: AsyncStream<[UInt8]>, loop: EventLoop,
                      onChunk: @escaping ([UInt8]) -> Void, onEnd: @escaping () -> Void) -> Task<Void, Never> {
        let chunkSink = LoopBound(onChunk, loop: loop)
        let endSink = LoopBound(onEnd, loop: loop)
        return Task {
            for await chunk in stream {
                if Task.isCancelled { break }
                chunkSink.withValueOnLoop { $0(chunk) }
            }
            endSink.withValueOnLoop { $0() }
        }
    }
}
