import Foundation
import HTTP
import TestSupport
import Testing

/// The first IPv4 address of this machine that is not loopback, if any (`hostname -I`).
private func externalAddress() -> String? {
    guard let (status, output) = try? runProgram(["hostname", "-I"]), status == 0 else { return nil }
    return String(decoding: output, as: UTF8.self).split(separator: " ").map(String.init).first {
        $0.contains(".") && !$0.hasPrefix("127.")
    }
}

@Suite("SMTP client on libcurl", .tags(.integration))
struct SMTPClientTests {
    @Test(
        "a server off loopback that offers no STARTTLS is refused before any mail is sent",
        .enabled(if: externalAddress() != nil))
    func startTLSRequired() async throws {
        let host = try #require(externalAddress())
        let venv =
            ProcessInfo.processInfo.environment["PHOTOSEAL_SMTP_VENV"]
            ?? repositoryRoot.appendingPathComponent(".venv-smtp").path
        let mailbox = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: mailbox) }
        let port = try await closedLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: venv + "/bin/python")
        // smtp_server.py binds loopback: the same handler on the external address.
        let script = try String(
            contentsOf: repositoryRoot.appendingPathComponent("scripts/smtp_server.py"), encoding: .utf8
        ).replacingOccurrences(of: "hostname=\"127.0.0.1\"", with: "hostname=\"\(host)\"")
        server.arguments = [
            "-c", script, "--port", String(port), "--mailbox", mailbox, "--watch-pid",
            String(ProcessInfo.processInfo.processIdentifier),
        ]
        // Not this process's pipes: the test runner waits for them to close.
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? runProgram(["python3", "-c", "import socket; socket.create_connection(('\(host)', \(port)), 1)"]))?
                .status == 0
            {
                break
            }
            usleep(100_000)
        }
        let client = try SMTPClient(url: "smtp://\(host):\(port)")
        #expect(!client.isLoopback)
        let error = await #expect(throws: HTTPError.self) {
            try await client.send(
                from: "a@example.org", to: ["b@example.org"], message: Array("Subject: x\r\n\r\nhello\r\n".utf8))
        }
        #expect(error?.code == .tls, "\(String(describing: error))")
        #expect(error?.message.contains("STARTTLS") == true)
        #expect(!(error?.message.contains("b@example.org") ?? true))
        let received = (try? FileManager.default.contentsOfDirectory(atPath: mailbox)) ?? []
        #expect(received.filter { $0.hasSuffix(".eml") }.isEmpty)
    }

    @Test("only smtp:// and smtps:// URLs make a client", .tags(.unit))
    func schemes() throws {
        #expect(throws: HTTPError.self) { try SMTPClient(url: "http://mail.example.org") }
        #expect(try SMTPClient(url: "smtps://mail.example.org").isLoopback == false)
        #expect(try SMTPClient(url: "smtp://127.0.0.1:2525").isLoopback)
        #expect(try SMTPClient(url: "smtp://localhost:2525").isLoopback)
    }
}
