/// At-least-once delivery: the embedded bus, the processed-events registry, the worker loop.
