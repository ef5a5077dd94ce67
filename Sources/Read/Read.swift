/// The read path: the projection worker, the graph and document read models (Postgres adapters of Core's
/// ports), and, later, federation and the typed query language.
public enum ReadPath {}
