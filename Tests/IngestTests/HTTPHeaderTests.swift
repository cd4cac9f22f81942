import HTTP
import Testing

/// Header look-ups on a finished response: names match ignoring ASCII case only, values are
/// read without the spaces around them.
@Suite("HTTP response headers", .tags(.unit))
struct HTTPHeaderTests {
    @Test("a header is found by its name in any ASCII case, and no other name matches")
    func namesIgnoreCase() {
        let response = HTTPResponse(
            status: 200, headers: [("x-a`", "grave"), ("CONTENT-length", " 42\t"), ("X-Tag", "b")], body: [])
        #expect(response.header("content-LENGTH") == " 42\t")
        #expect(response.header("x-tag") == "b")
        #expect(response.header("X-A@") == nil)
        #expect(response.header("X-Ta") == nil)
        #expect(response.header("X-Tags") == nil)
        #expect(response.contentLength == 42)
    }

    @Test("a Content-Length that is not a number is no length")
    func badLength() {
        #expect(HTTPResponse(status: 200, headers: [("Content-Length", "4 2")], body: []).contentLength == nil)
        #expect(HTTPResponse(status: 200, headers: [("Content-Length", "")], body: []).contentLength == nil)
        #expect(HTTPResponse(status: 200, headers: [], body: []).contentLength == nil)
    }
}
