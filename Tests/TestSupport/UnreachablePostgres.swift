import Glibc
import Drivers

public enum UnreachablePostgres {
    /// A client whose server does not exist: a port that was free a moment ago.
    public static func client() -> PostgresClient {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        close(fd)
        let port = Int(UInt16(bigEndian: address.sin_port))
        return PostgresClient(PostgresConfiguration(url: "postgresql://postgres@127.0.0.1:\(port)/x", poolSize: 1, connectTimeoutSeconds: 1))
    }
}
