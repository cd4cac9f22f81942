import CCurl
import Foundation

/// `curl_global_init`, once per process, before any handle exists.
enum CurlGlobal {
    // A static let is initialised exactly once, under a lock, by the first client.
    private static let result: CURLcode = ps_curl_global_init_all()

    static func initialise() throws {
        guard result == CURLE_OK else {
            throw HTTPError(.setup, "libcurl failed to initialise (curl_global_init)", curlCode: Int(result.rawValue))
        }
    }
}

/// Owns the `CURLM *` multi handle.
///
/// `@unchecked Sendable`: the engine thread alone calls into the handle, except
/// `curl_multi_wakeup`, which libcurl documents as callable from any thread.
final class CurlMulti: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init(configuration: HTTPClient.Configuration) throws {
        guard let handle = curl_multi_init() else {
            throw HTTPError(.setup, "libcurl could not create a multi handle (out of memory?)")
        }
        self.handle = handle
        // Multiplex HTTP/2 streams over one connection per host where the server offers it.
        _ = ps_curl_multi_setopt_long(handle, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)
        _ = ps_curl_multi_setopt_long(handle, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        _ = ps_curl_multi_setopt_long(handle, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxTotalConnections)
    }

    func wakeup() { _ = curl_multi_wakeup(handle) }

    deinit { curl_multi_cleanup(handle) }
}

/// Owns one `CURL *` easy handle and the C memory it points into (its error buffer and its
/// request-header list), freeing them after the handle, as libcurl requires.
final class EasyHandle {
    let handle: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>
    var headerList: UnsafeMutablePointer<curl_slist>?

    init() throws {
        guard let handle = curl_easy_init() else {
            throw HTTPError(.setup, "libcurl could not create an easy handle (out of memory?)")
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }
}

// A CURL easy handle may be used by one thread at a time only.
@available(*, unavailable)
extension EasyHandle: Sendable {}
