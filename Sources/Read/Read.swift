/// The read path: projection worker, graph and document read models, federation and the typed query
/// language. Built by the read-path issue; nothing here yet.
public enum ReadPath {}
