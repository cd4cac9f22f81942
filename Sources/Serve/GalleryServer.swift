import FlyingFox
import FlyingSocks
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The gallery's HTTP/1.1 server on one address: hands each request to a ``Gallery``.
///
/// It binds 127.0.0.1 unless told otherwise; any address that is not loopback needs the
/// gallery to be configured with an access token (`SERVE_TOKEN`), or it refuses to start.
public final class GalleryServer: Sendable {
    /// The gallery that answers.
    public let gallery: Gallery
    /// The address bound, as given (`127.0.0.1`, `::1`, `0.0.0.0`, …).
    public let host: String
    private let server: HTTPServer

    /// Makes a server; nothing is bound before ``run()``.
    ///
    /// - Parameters:
    ///   - gallery: Answers the requests.
    ///   - host: An IPv4 or IPv6 address, or `localhost`.
    ///   - port: The TCP port (0: any free port, see ``port()``).
    /// - Throws: ``ServeError`` when the address is not loopback and the gallery has no
    ///   token, or when the address is not an IP address.
    public init(gallery: Gallery, host: String, port: UInt16) throws {
        let address = host == "localhost" ? "127.0.0.1" : host
        if !Self.isLoopback(address) && gallery.configuration.token == nil {
            throw ServeError(
                "serving on \(host) (not loopback) needs an access token: set SERVE_TOKEN in the secrets file, "
                    + "or serve on 127.0.0.1")
        }
        self.gallery = gallery
        self.host = host
        let handler = Handler(gallery: gallery)
        do {
            if address.contains(":") {
                server = HTTPServer(
                    config: .init(address: try .inet6(ip6: address, port: port), logger: .disabled), handler: handler)
            } else {
                server = HTTPServer(
                    config: .init(address: try .inet(ip4: address, port: port), logger: .disabled), handler: handler)
            }
        } catch {
            throw ServeError("\(host) is not an IP address; use e.g. --host 127.0.0.1 or --host ::1")
        }
    }

    /// Whether the address is a loopback one (127.0.0.0/8, ::1, localhost).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Serves until the task is cancelled or ``stop()`` is called.
    /// - Throws: ``ServeError`` when the address cannot be bound (in use, not this machine's).
    public func run() async throws {
        let server = self.server
        Task {
            // FlyingFox writes a response's head and body in two writes: with Nagle's algorithm
            // and the client's delayed ACK each answer would wait 40 ms. TCP_NODELAY on the
            // listening socket is inherited by the sockets it accepts (Linux).
            try await server.waitUntilListening(timeout: 30)
            if case .ip4(_, port: let port)? = await server.listeningAddress { Self.setNoDelay(listeningOn: port) }
            if case .ip6(_, port: let port)? = await server.listeningAddress { Self.setNoDelay(listeningOn: port) }
        }
        do {
            try await server.run()
        } catch is CancellationError {
            return
        } catch {
            throw ServeError("cannot serve on \(host): \(error); choose another --port or --host")
        }
    }

    /// The port bound, once listening (waits up to `timeout` seconds).
    public func port(timeout: Double = 10) async throws -> UInt16 {
        try await server.waitUntilListening(timeout: timeout)
        let address = await server.listeningAddress
        switch address {
        case .ip4(_, port: let port)?, .ip6(_, port: let port)?: return port
        default: throw ServeError("the server on \(host) is not listening")
        }
    }

    /// Sets TCP_NODELAY on this process's listening TCP socket bound to `port` (FlyingFox
    /// does not hand out its descriptor, so it is found among the process's descriptors).
    static func setNoDelay(listeningOn port: UInt16) {
        #if canImport(Glibc)
            for descriptor in Int32(0)..<4096 {
                var storage = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let named = withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
                }
                guard named == 0 else { continue }
                var bound: UInt16 = 0
                if Int32(storage.ss_family) == AF_INET {
                    bound = withUnsafePointer(to: &storage) {
                        $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                            UInt16(bigEndian: $0.pointee.sin_port)
                        }
                    }
                } else if Int32(storage.ss_family) == AF_INET6 {
                    bound = withUnsafePointer(to: &storage) {
                        $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                            UInt16(bigEndian: $0.pointee.sin6_port)
                        }
                    }
                }
                var listening: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                guard bound == port, getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0,
                    listening != 0
                else { continue }
                var on: Int32 = 1
                _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            }
        #endif
    }

    /// Stops listening and closes the connections.
    public func stop() async { await server.stop(timeout: 1) }

    /// Hands every request to the gallery (it does its own routing).
    private struct Handler: HTTPHandler {
        let gallery: Gallery

        func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
            await GalleryServer.answer(request, gallery: gallery)
        }
    }

    fileprivate static func answer(_ request: HTTPRequest, gallery: Gallery) async -> HTTPResponse {
        var headers: [String: String] = [:]
        for (name, value) in request.headers {
            let key = name.rawValue.lowercased()
            headers[key] = headers[key].map { "\($0); \(value)" } ?? value
        }
        let query = GalleryRequest.queryItems(request.target.query(percentEncoded: true))
        // Only the form posts; its body is a few hundred bytes (more is refused unread).
        var body: [UInt8] = []
        if request.method.rawValue == "POST" {
            guard let data = try? await request.bodyData, data.count <= 64 << 10 else {
                return HTTPResponse(statusCode: HTTPStatusCode(413, phrase: "Content Too Large"))
            }
            body = Array(data)
        }
        let answer = await gallery.respond(
            to: GalleryRequest(
                method: request.method.rawValue, path: request.path, query: query, headers: headers, body: body))
        var responseHeaders = HTTPHeaders()
        for (name, value) in answer.headers { responseHeaders.addValue(value, for: HTTPHeader(name)) }
        return HTTPResponse(
            statusCode: HTTPStatusCode(answer.status, phrase: Self.phrase(answer.status)), headers: responseHeaders,
            body: Data(answer.body))
    }

    private static func phrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 303: "See Other"
        case 403: "Forbidden"
        case 503: "Service Unavailable"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        default: "Error"
        }
    }
}

/// A failure to serve: what failed and what to do. Holds no token and no personal field.
public struct ServeError: Error, Sendable, CustomStringConvertible {
    /// What failed and what to do.
    public var message: String

    init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
