import Foundation
import Ingest
import Testing

@Suite("Delivery request specs as the ledger keeps them", .tags(.unit))
struct DeliverySpecTests {
    @Test("a spec recorded before --pseudonymous existed reads back as not pseudonymous; a pseudonymous one keeps it")
    func pseudonymousFlagReadsBack() throws {
        // A spec as an earlier photoseal wrote it into the delivery table (no "pseudonymous" key).
        let old =
            #"{"minScores":{"monkey":0.5},"limit":3,"includeAllRightsReserved":true,"attribution":false,"#
            + #""upload":"s3://b/k.zip","linkExpires":3600,"partSize":8388608}"#
        let read = try JSONDecoder().decode(DeliveryRequest.Spec.self, from: Data(old.utf8))
        #expect(!read.pseudonymous)
        #expect(read.limit == 3 && read.minScores == ["monkey": 0.5] && read.upload == "s3://b/k.zip")

        var spec = read
        spec.pseudonymous = true
        let json = try JSONEncoder().encode(spec)
        #expect(String(decoding: json, as: UTF8.self).contains(#""pseudonymous":true"#))
        #expect(try JSONDecoder().decode(DeliveryRequest.Spec.self, from: json) == spec)
    }
}
