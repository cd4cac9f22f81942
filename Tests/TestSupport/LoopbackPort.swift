import Foundation

/// A loopback TCP port nothing listens on: bound to find a free one, then closed, so a
/// connection to it is refused at once (a "dead" endpoint).
public func closedLoopbackPort() async throws -> Int {
    let text = try await runProcess(
        "/usr/bin/env",
        ["python3", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
    guard let port = Int(text) else { throw PythonFixtureServer.ServerError.badAnswer("no free port: \(text)") }
    return port
}
