import Testing

@testable import Enrich

@Test("the Enrich module builds and links")
func enrichLinks() {
    #expect(!EnrichModule.version.isEmpty)
}
