import Testing
@testable import Crypto

@Test("the Crypto module builds and links")
func cryptoLinks() {
    #expect(!CryptoModule.version.isEmpty)
}
