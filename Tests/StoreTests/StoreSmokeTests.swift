import Testing

@testable import Store

@Test("the Store module builds and links")
func storeLinks() {
    #expect(!StoreModule.version.isEmpty)
}
