import CCurl
import Foundation

/// Sends mail through an SMTP server with libcurl (`smtp://` or `smtps://`).
///
/// TLS: `smtps://` is TLS from the first byte; `smtp://` must upgrade with STARTTLS
/// (`CURLUSESSL_ALL`: the send fails when the server does not offer it) unless the server is
/// on loopback (`127.0.0.0/8`, `::1`, `localhost`), where STARTTLS is used if offered.
/// Credentials are sent only over TLS (libcurl refuses plain AUTH otherwise), never logged.
///
/// Each send is one blocking `curl_easy_perform` on a thread of its own, off Swift's
/// cooperative pool (mail is rare: one message per delivery).
public struct SMTPClient: Sendable {
    /// The server URL, e.g. `smtp://mail.example.org:587` or `smtps://mail.example.org`.
    public let url: String
    private let username: String?
    private let password: String?
    private let timeout: Int
    private let loopback: Bool

    /// Makes a client.
    /// - Parameters:
    ///   - url: `smtp://host[:port]` or `smtps://host[:port]`.
    ///   - username: the login (`SMTP_USER`), if the server needs one.
    ///   - password: its password (`SMTP_PASSWORD`).
    ///   - timeout: seconds for the whole exchange.
    /// - Throws: `HTTPError.badURL` when the URL is not `smtp://` or `smtps://` with a host.
    public init(url: String, username: String? = nil, password: String? = nil, timeout: Int = 60) throws {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "smtp" || scheme == "smtps", let host = parsed.host, !host.isEmpty
        else {
            throw HTTPError(
                .badURL, "the mail server '\(HTTPEndpoint.hostPort(url))' is not an smtp:// or smtps:// URL")
        }
        self.url = url
        self.username = username
        self.password = password
        self.timeout = timeout
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        loopback = bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }

    /// Whether the server is on this machine (no STARTTLS demanded).
    public var isLoopback: Bool { loopback }

    /// Sends one message.
    /// - Parameters:
    ///   - from: the envelope sender (`MAIL FROM`).
    ///   - to: the envelope recipients (`RCPT TO`).
    ///   - message: the whole RFC 5322 message, CRLF line ends.
    /// - Throws: `HTTPError` (`.tls` when STARTTLS is not offered, `.connect`, `.transport` for a
    ///   refused login or recipient) naming the server, never the addresses or the password.
    public func send(from: String, to: [String], message: [UInt8]) async throws {
        let job = SendJob(client: self, from: from, to: to, message: message)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread { continuation.resume(with: Result { try job.run() }) }
        }
    }

    /// One send's inputs, handed to its thread.
    private struct SendJob: Sendable {
        let client: SMTPClient
        let from: String
        let to: [String]
        let message: [UInt8]

        func run() throws {
            try CurlGlobal.initialise()
            let easy = try EasyHandle()
            let h = easy.handle
            let source = MessageSource(message)
            var recipients: UnsafeMutablePointer<curl_slist>?
            for address in to { recipients = curl_slist_append(recipients, "<\(address)>") }
            defer { curl_slist_free_all(recipients) }
            var ok = true
            func check(_ code: CURLcode) { if code != CURLE_OK { ok = false } }
            check(ps_curl_easy_setopt_str(h, CURLOPT_URL, client.url))
            check(ps_curl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1))
            check(ps_curl_easy_setopt_ptr(h, CURLOPT_ERRORBUFFER, easy.errorBuffer))
            check(ps_curl_easy_setopt_long(h, CURLOPT_TIMEOUT, client.timeout))
            check(
                ps_curl_easy_setopt_long(
                    h, CURLOPT_USE_SSL, Int(client.loopback ? CURLUSESSL_TRY.rawValue : CURLUSESSL_ALL.rawValue)))
            check(ps_curl_easy_setopt_str(h, CURLOPT_MAIL_FROM, "<\(from)>"))
            check(ps_curl_easy_setopt_ptr(h, CURLOPT_MAIL_RCPT, recipients))
            if let username = client.username {
                check(ps_curl_easy_setopt_str(h, CURLOPT_USERNAME, username))
                check(ps_curl_easy_setopt_str(h, CURLOPT_PASSWORD, client.password ?? ""))
            }
            check(ps_curl_easy_setopt_long(h, CURLOPT_UPLOAD, 1))
            check(ps_curl_easy_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.count)))
            check(ps_curl_easy_setopt_read(h, smtpRead))
            let box = Unmanaged.passRetained(source)
            defer { box.release() }
            check(ps_curl_easy_setopt_ptr(h, CURLOPT_READDATA, box.toOpaque()))
            guard ok else { throw HTTPError(.setup, "libcurl refused the mail options (built without SMTP?)") }
            let result = curl_easy_perform(h)
            guard result == CURLE_OK else {
                let detail = String(cString: easy.errorBuffer)
                let server = HTTPEndpoint.hostPort(client.url)
                let code = HTTPError.Code(curl: result, requestSent: true, abortedBySink: false, overLimit: false)
                let hint =
                    result == CURLE_USE_SSL_FAILED
                    ? "; the server does not offer STARTTLS: use smtps:// or a server with TLS" : ""
                // libcurl's message names the server's reply, never the addresses or password.
                throw HTTPError(
                    code,
                    "sending mail through \(server) failed: \(detail.isEmpty ? "libcurl \(result.rawValue)" : detail)\(hint)",
                    curlCode: Int(result.rawValue))
            }
        }
    }
}

/// The message being read by libcurl, and how far.
private final class MessageSource {
    let bytes: [UInt8]
    var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// `CURLOPT_READFUNCTION`: copies the next bytes of the message into libcurl's buffer.
private func smtpRead(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer, let context else { return 0 }
    let source = Unmanaged<MessageSource>.fromOpaque(context).takeUnretainedValue()
    let n = min(size * count, source.bytes.count - source.position)
    guard n > 0 else { return 0 }
    source.bytes.withUnsafeBytes { raw in
        UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + source.position, byteCount: n)
    }
    source.position += n
    return n
}
