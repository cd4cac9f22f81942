import Ingest
import Testing

@Suite("mail addresses", .tags(.unit))
struct MailAddressTests {
    @Test("an address is shown as its first character, *** and its domain")
    func masked() {
        #expect(MailAddress.masked("ann.lee@example.org") == "a***@example.org")
        #expect(MailAddress.masked("b@x.io") == "b***@x.io")
        #expect(MailAddress.masked("not-an-address") == "***")
    }

    @Test(
        "addresses that could inject SMTP commands or headers are refused",
        arguments: [
            "a@b", "a b@example.org", "a@example.org\r\nRCPT TO:<x@y.z>", "<a@example.org>", "@example.org",
            "a@@example.org", "a@.org",
        ])
    func refused(address: String) {
        #expect(!MailAddress.isValid(address))
    }

    @Test("plain addresses are accepted")
    func accepted() {
        #expect(MailAddress.isValid("ann.lee+data@example.org"))
        #expect(MailAddress.isValid("x@sub.example.co.uk"))
    }
}
