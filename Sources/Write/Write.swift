/// The write path: commands, validation, OCC and sequence allocation, the event store, command status,
/// the publisher and the command workers. Built by the write-path issue; nothing here yet.
public enum WritePath {}
