import CLinuxEvents
import Glibc

/// The socket system calls the transport makes, each returning a descriptor or throwing the errno text.
enum SocketCalls {
    /// A non-blocking listening socket bound to `address`; with `reusePort` several loops may bind one port
    /// and the kernel spreads incoming connections over them.
    static func listen(on address: SocketAddress, reusePort: Bool, backlog: Int32 = 1024) throws(SocketError) -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let bound = address.withSockAddr { bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = SocketError(operation: "bind")
            close(fd)
            throw error
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = SocketError(operation: "listen")
            close(fd)
            throw error
        }
        return fd
    }

    /// Accepts one pending connection as a non-blocking socket; nil when none is pending.
    static func accept(from listener: Int32) throws(SocketError) -> Int32? {
        let fd = accept4(listener, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        if fd >= 0 { return fd }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED: return nil
        default: throw SocketError(operation: "accept4")
        }
    }

    /// Starts a non-blocking connect to `address`; the socket turns writable when it finishes.
    static func startConnect(to address: SocketAddress) throws(SocketError) -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket") }
        let result = address.withSockAddr { connect(fd, $0, $1) }
        if result != 0 && errno != EINPROGRESS {
            let error = SocketError(operation: "connect")
            close(fd)
            throw error
        }
        return fd
    }

    /// The pending error of a socket (SO_ERROR), 0 when a connect succeeded.
    static func pendingError(of fd: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error
    }

    /// Turns off Nagle's algorithm: gRPC frames are small and latency-sensitive, and writes are already batched.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}
