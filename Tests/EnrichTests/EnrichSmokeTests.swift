import Testing

@testable import Enrich

@Test("the Enrich module builds and links", .tags(.unit))
func enrichLinks() {
    #expect(!EnrichModule.version.isEmpty)
}
