import CCurl
import Foundation
import Logging

/// A monotonically increasing id source.
final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private var value: UInt64 = 0
    private let lock = NSLock()

    func next() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// A request handed to the engine thread.
struct Submission: Sendable {
    let id: UInt64
    let request: HTTPRequest
    let sink: (any HTTPBodySink)?
    let continuation: CheckedContinuation<HTTPResponse, any Error>
}

/// The mailbox between callers and the engine thread.
final class Inbox: @unchecked Sendable {
    // Every stored property is guarded by `lock`.
    private let lock = NSLock()
    private var pending: [Submission] = []
    private var cancelled: [UInt64] = []
    private var stopping = false

    /// Queues a submission; `false` once the client is stopping.
    func submit(_ submission: Submission) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { return false }
        pending.append(submission)
        return true
    }

    func cancel(_ id: UInt64) {
        lock.lock()
        cancelled.append(id)
        lock.unlock()
    }

    /// Marks the inbox stopping; `true` the first time.
    @discardableResult
    func stop() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if stopping { return false }
        stopping = true
        return true
    }

    func drain() -> (submissions: [Submission], cancelled: [UInt64], stopping: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let result = (pending, cancelled, stopping)
        pending.removeAll()
        cancelled.removeAll()
        return result
    }
}

/// One transfer in flight; lives on the engine thread only.
final class Transfer {
    let submission: Submission
    let easy: EasyHandle
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var sinkStarted = false
    var abortReason: String?
    /// Set when the body outgrew the request's `maxBodyBytes`.
    var overLimit = false

    init(submission: Submission) throws {
        self.submission = submission
        easy = try EasyHandle()
    }

    var status: Int {
        var code = 0
        _ = ps_curl_easy_getinfo_long(easy.handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// The header callback's work: a status line starts a new header block (redirects, 100).
    /// One raw header line as libcurl hands it over (CRLF included): a status line starts a
    /// new set of headers (after a redirect or a 100 Continue); `Name: value` is kept with
    /// surrounding spaces and tabs removed. Parsed on the bytes: this runs for every header
    /// of every transfer on the engine thread.
    func header(_ line: UnsafeRawBufferPointer) {
        let bytes = line.bindMemory(to: UInt8.self)
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        func trimmed(_ range: Range<Int>) -> Range<Int> {
            var lower = range.lowerBound
            var upper = range.upperBound
            while lower < upper, isSpace(bytes[lower]) { lower += 1 }
            while upper > lower, isSpace(bytes[upper - 1]) { upper -= 1 }
            return lower..<upper
        }
        let all = trimmed(0..<bytes.count)
        if all.count >= 5, bytes[all.lowerBound..<(all.lowerBound + 5)].elementsEqual("HTTP/".utf8) {
            headers.removeAll()
        } else if let colon = bytes[all].firstIndex(of: UInt8(ascii: ":")) {
            let name = String(
                decoding: UnsafeBufferPointer(rebasing: bytes[trimmed(all.lowerBound..<colon)]), as: UTF8.self)
            let value = String(
                decoding: UnsafeBufferPointer(rebasing: bytes[trimmed((colon + 1)..<all.upperBound)]), as: UTF8.self)
            headers.append((name, value))
        }
    }

    /// The write callback's work; `false` aborts the transfer.
    func write(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if let sink = submission.sink {
            if !sinkStarted {
                sinkStarted = true
                guard sink.begin(status: status, headers: headers) else {
                    abortReason = "the receiver declined the answer"
                    return false
                }
            }
            guard sink.receive(chunk) else {
                abortReason = "the receiver stopped the transfer"
                return false
            }
            return true
        }
        guard body.count + chunk.count <= submission.request.maxBodyBytes else {
            abortReason = "the answer is larger than \(submission.request.maxBodyBytes) bytes"
            overLimit = true
            return false
        }
        body.append(contentsOf: chunk)
        return true
    }
}

private func writeCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let user else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return 0 }
    return transfer.write(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func headerCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let user else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    transfer.header(UnsafeRawBufferPointer(start: data, count: length))
    return length
}

/// The engine thread's state and loop.
struct Engine {
    let multi: CurlMulti
    let inbox: Inbox
    let configuration: HTTPClient.Configuration
    let logger: Logger
    var active: [UnsafeMutableRawPointer: Transfer] = [:]

    init(multi: CurlMulti, inbox: Inbox, configuration: HTTPClient.Configuration, logger: Logger) {
        self.multi = multi
        self.inbox = inbox
        self.configuration = configuration
        self.logger = logger
    }

    mutating func run() {
        while true {
            let work = inbox.drain()
            for submission in work.submissions { start(submission) }
            for id in work.cancelled {
                if let (key, transfer) = active.first(where: { $0.value.submission.id == id }) {
                    remove(key)
                    transfer.submission.continuation.resume(
                        throwing: HTTPError(.cancelled, "the request was cancelled"))
                }
            }
            if work.stopping {
                for (key, transfer) in active {
                    remove(key)
                    transfer.submission.continuation.resume(
                        throwing: HTTPError(.cancelled, "the HTTP client was shut down before the answer arrived"))
                }
                return
            }
            var running: Int32 = 0
            let performed = curl_multi_perform(multi.handle, &running)
            if performed != CURLM_OK {
                logger.error(
                    "curl_multi_perform failed", metadata: ["curl.multi_code": "\(performed.rawValue)"])
            }
            collectFinished()
            var ready: Int32 = 0
            _ = curl_multi_poll(multi.handle, nil, 0, 1000, &ready)
        }
    }

    private mutating func remove(_ key: UnsafeMutableRawPointer) {
        curl_multi_remove_handle(multi.handle, key)
        active[key] = nil
    }

    private mutating func collectFinished() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi.handle, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let key = message.pointee.easy_handle,
                let transfer = active[key]
            else { continue }
            let result = ps_curl_msg_result(message)
            remove(key)
            finish(transfer, result: result)
        }
    }

    private func finish(_ transfer: Transfer, result: CURLcode) {
        let continuation = transfer.submission.continuation
        guard result == CURLE_OK else {
            var detail = String(cString: transfer.easy.errorBuffer)
            // libcurl's own text, never one that could echo a URL's query (where keys live).
            if detail.isEmpty || detail.contains("key=") { detail = String(cString: curl_easy_strerror(result)) }
            if let reason = transfer.abortReason { detail = reason }
            let host = HTTPEndpoint.hostPort(transfer.submission.request.url)
            // A timeout before the request went out means the host never accepted the
            // connection (unreachable); one after it is a slow transfer (transient).
            var requestBytes = 0
            if result == CURLE_OPERATION_TIMEDOUT {
                _ = ps_curl_easy_getinfo_long(transfer.easy.handle, CURLINFO_REQUEST_SIZE, &requestBytes)
            }
            let code = HTTPError.Code(
                curl: result, requestSent: requestBytes > 0, abortedBySink: transfer.abortReason != nil,
                overLimit: transfer.overLimit)
            continuation.resume(
                throwing: HTTPError(
                    code, "the request to \(host) failed: \(detail) (curl code \(result.rawValue))",
                    curlCode: Int(result.rawValue)))
            return
        }
        let status = transfer.status
        if let sink = transfer.submission.sink, !transfer.sinkStarted {
            // An empty body still tells the sink what the answer was.
            _ = sink.begin(status: status, headers: transfer.headers)
        }
        var effective: UnsafeMutablePointer<CChar>?
        _ = ps_curl_easy_getinfo_str(transfer.easy.handle, CURLINFO_EFFECTIVE_URL, &effective)
        continuation.resume(
            returning: HTTPResponse(
                status: status, headers: transfer.headers, body: transfer.body,
                effectiveURL: effective.map { String(cString: $0) }))
    }

    private mutating func start(_ submission: Submission) {
        let transfer: Transfer
        do {
            transfer = try Transfer(submission: submission)
        } catch {
            submission.continuation.resume(throwing: error)
            return
        }
        let h = transfer.easy.handle
        let request = submission.request
        let user = Unmanaged.passUnretained(transfer).toOpaque()
        var ok = true
        func check(_ code: CURLcode) { if code != CURLE_OK { ok = false } }
        check(ps_curl_easy_setopt_str(h, CURLOPT_URL, request.url))
        check(ps_curl_easy_setopt_ptr(h, CURLOPT_ERRORBUFFER, transfer.easy.errorBuffer))
        check(ps_curl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        check(ps_curl_easy_setopt_str(h, CURLOPT_ACCEPT_ENCODING, ""))
        check(ps_curl_easy_setopt_str(h, CURLOPT_USERAGENT, configuration.userAgent))
        check(ps_curl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout * 1000)))
        check(ps_curl_easy_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, configuration.lowSpeedLimit))
        check(ps_curl_easy_setopt_long(h, CURLOPT_LOW_SPEED_TIME, request.lowSpeedTime ?? configuration.lowSpeedTime))
        if let timeout = request.timeout ?? configuration.transferTimeout, timeout > 0 {
            check(ps_curl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(timeout * 1000)))
        }
        check(ps_curl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
        check(ps_curl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
        check(ps_curl_easy_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1))
        // 128 KiB reads instead of libcurl's 16 KiB: an image of a few hundred KB arrives in a
        // few socket reads and write callbacks, not dozens.
        check(ps_curl_easy_setopt_long(h, CURLOPT_BUFFERSIZE, 128 << 10))
        check(ps_curl_easy_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS)))
        // Wait for a multiplexable connection rather than opening a new one per transfer, over
        // TLS only, where ALPN says at once whether HTTP/2 is spoken. A cleartext connection is
        // HTTP/1.1 (HTTP_VERSION_2TLS): waiting on it queued every other transfer to that host
        // behind the first, so one body dribbling in held up all the others.
        if request.url.lowercased().hasPrefix("https:") {
            check(ps_curl_easy_setopt_long(h, CURLOPT_PIPEWAIT, 1))
        }
        check(ps_curl_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0))
        check(ps_curl_easy_setopt_long(h, CURLOPT_MAXREDIRS, 10))
        check(ps_curl_easy_setopt_long(h, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS)))
        check(ps_curl_easy_setopt_write(h, writeCallback))
        check(ps_curl_easy_setopt_ptr(h, CURLOPT_WRITEDATA, user))
        check(ps_curl_easy_setopt_header(h, headerCallback))
        check(ps_curl_easy_setopt_ptr(h, CURLOPT_HEADERDATA, user))
        if request.method == "HEAD" {
            // NOBODY, not a custom method: libcurl would otherwise wait for the body a HEAD
            // answer's Content-Length announces.
            check(ps_curl_easy_setopt_long(h, CURLOPT_NOBODY, 1))
        } else if request.method != "GET" {
            check(ps_curl_easy_setopt_str(h, CURLOPT_CUSTOMREQUEST, request.method))
        }
        if let body = request.body {
            check(ps_curl_easy_setopt_long(h, CURLOPT_POSTFIELDSIZE, body.count))
            // COPYPOSTFIELDS copies POSTFIELDSIZE bytes, so their lifetime may end here.
            if body.isEmpty {
                check(ps_curl_easy_setopt_str(h, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                body.withUnsafeBytes { raw in
                    if let base = raw.baseAddress {
                        check(
                            ps_curl_easy_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
                    }
                }
            }
        }
        for (name, value) in request.headers {
            transfer.easy.headerList = curl_slist_append(transfer.easy.headerList, "\(name): \(value)")
        }
        if let list = transfer.easy.headerList {
            check(ps_curl_easy_setopt_ptr(h, CURLOPT_HTTPHEADER, list))
        }
        guard ok else {
            submission.continuation.resume(
                throwing: HTTPError(.setup, "libcurl refused an option for this request; is libcurl too old?"))
            return
        }
        guard curl_multi_add_handle(multi.handle, h) == CURLM_OK else {
            submission.continuation.resume(throwing: HTTPError(.setup, "libcurl could not start a transfer"))
            return
        }
        active[h] = transfer
    }
}
