import Testing

@testable import Ingest

@Test("the Ingest module builds and links")
func ingestLinks() {
    #expect(!IngestModule.version.isEmpty)
}
