import Testing

@testable import Ingest

@Test("the Ingest module builds and links", .tags(.unit))
func ingestLinks() {
    #expect(!IngestModule.version.isEmpty)
}
