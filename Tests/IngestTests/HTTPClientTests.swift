import Foundation
import HTTP
import Logging
import Retry
import Testing

@testable import Ingest

@Suite("HTTP engine on libcurl", .tags(.integration))
struct HTTPClientTests {
    @Test("many slow transfers run concurrently, at most 6 to one host")
    func concurrent() async throws {
        let server = try FlickrTestServer(["--photos", "10"])
        defer { server.stop() }
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 {
                group.addTask { try await client.send(HTTPRequest(url: server.base + "/__slow?seconds=0.6")).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 12))
        // Counted by the server: one after another would never exceed 1 in flight.
        let inFlight = (try server.json("/__slow_max") as? [String: Int])?["max_in_flight"] ?? 0
        #expect(inFlight >= 3 && inFlight <= 6, "\(inFlight) in flight")
    }

    @Test("status, headers and body come back; Retry-After parses")
    func response() async throws {
        let server = try FlickrTestServer(["--photos", "10", "--per-second", "0"])
        defer { server.stop() }
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        let response = try await client.send(HTTPRequest(url: server.endpoint + "?method=flickr.photos.search"))
        #expect(response.status == 429)
        #expect(response.retryAfter() == 1)
        #expect(response.header("content-type")?.hasPrefix("application/json") == true)
        #expect(response.contentLength == response.body.count)
        #expect(String(decoding: response.body, as: UTF8.self).contains("Too Many Requests"))
    }

    @Test("a refused connection is a retriable transport error that never shows the API key")
    func refused() async throws {
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        let error = try await #require(throws: HTTPError.self) {
            try await client.send(HTTPRequest(url: "http://127.0.0.1:9/services/rest/?api_key=SECRET123&x=1"))
        }
        #expect(error.code == .connect)
        #expect(error.isRetriable && error.isUnreachable)
        #expect(!error.description.contains("SECRET123"))
    }

    @Test("a body sink receives the body instead of memory")
    func sink() async throws {
        final class Collect: HTTPBodySink, @unchecked Sendable {
            var status = 0
            var bytes = 0
            func begin(status: Int, headers: [(name: String, value: String)]) -> Bool {
                self.status = status
                return true
            }
            func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
                bytes += chunk.count
                return true
            }
        }
        let server = try FlickrTestServer(["--photos", "10"])
        defer { server.stop() }
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        let collect = Collect()
        let response = try await client.send(HTTPRequest(url: server.base + "/__personal"), sink: collect)
        #expect(response.body.isEmpty)
        #expect(collect.status == 200)
        #expect(collect.bytes == response.contentLength)
    }

    @Test("an answer larger than maxBodyBytes fails as too large, not retriable; the endpoint is named")
    func tooLarge() async throws {
        let server = try FlickrTestServer(["--photos", "10"])
        defer { server.stop() }
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        let error = try await #require(throws: HTTPError.self) {
            try await client.send(HTTPRequest(url: server.base + "/__personal", maxBodyBytes: 4))
        }
        #expect(error.code == .tooLarge && !error.isRetriable && !error.isUnreachable)
        #expect(error.description.contains("127.0.0.1:\(server.port)"))
    }

    @Test("a cancelled task's transfer stops")
    func cancel() async throws {
        let server = try FlickrTestServer(["--photos", "10"])
        defer { server.stop() }
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        // The answer takes 60 s: a transfer that ran to the end would succeed, so a `cancelled`
        // error shows it stopped (no clock: a loaded test machine makes any bound flaky).
        let task = Task { try await client.send(HTTPRequest(url: server.base + "/__slow?seconds=60")) }
        try await Task.sleep(nanoseconds: 300_000_000)
        task.cancel()
        let result = await task.result
        let error = try #require(throws: HTTPError.self) { try result.get() }
        #expect(error.code == .cancelled)
    }

    @Test("requests name photoseal and its version, accept gzip, and compressed answers arrive decoded")
    func userAgentAndGzip() async throws {
        let server = try FlickrTestServer(["--photos", "10"])
        defer { server.stop() }
        let client = try HTTPClient(configuration: .photoseal, logger: Logger(label: "test"))
        defer { client.shutdown() }
        let response = try await client.send(HTTPRequest(url: server.base + "/__echo"))
        #expect(response.header("Content-Encoding") == "gzip")
        let headers = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String])
        #expect(headers["user-agent"] == "photoseal/\(IngestModule.version)")
        #expect(headers["accept-encoding"]?.contains("gzip") == true)
    }

    @Test("a POST sends its body and headers")
    func post() async throws {
        let server = try FlickrTestServer(["--photos", "10"])
        defer { server.stop() }
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        let body = Array(#"{"requests": ["猴子"]}"#.utf8)
        let response = try await client.send(
            HTTPRequest(
                url: server.base + "/post", method: "POST", headers: [("Content-Type", "application/json")], body: body)
        )
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(echo["length"] as? Int == body.count)
        #expect(echo["body"] as? String == #"{"requests": ["猴子"]}"#)
        #expect(echo["content-type"] as? String == "application/json")
    }
}
