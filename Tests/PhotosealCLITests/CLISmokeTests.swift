import Foundation
import Testing

@Test("photoseal --help exits 0 and names the tool")
func helpRuns() throws {
    let result = try CLI.run(["--help"])
    #expect(result.status == 0)
    #expect(result.stdout.contains("photoseal"))
}
