import Foundation
import Testing

@testable import Enrich

@Test("whole-word matching: net matches Fishing net, never Cabinet; multi-word synonyms match in order", .tags(.unit))
func wholeWords() throws {
    var v = LabelVocabulary()
    try v.merge(fileText: "net: net\nmonkey: monkey, old world monkey, macaque\n", name: "labels.txt")
    #expect(v.matches(label: "net", description: "Fishing net"))
    #expect(!v.matches(label: "net", description: "Cabinet"))
    #expect(!v.matches(label: "net", description: "Internet"))
    #expect(v.matches(label: "monkey", description: "Macaque"))
    #expect(v.matches(label: "monkey", description: "Old World monkey"))
    #expect(!v.matches(label: "monkey", description: "Monkeypox"))
    #expect(!v.matches(label: "monkey", description: "World Old"))
}

@Test("the best matching score wins; a label nothing matched is absent, not zero", .tags(.unit))
func scoresKeepNotReturned() throws {
    var v = LabelVocabulary()
    try v.merge(fileText: "monkey: primate, macaque\ncage: cage, enclosure\n", name: "l")
    let returned = [
        Vision.Label(mid: "/m/1", description: "Primate", score: 0.91),
        Vision.Label(mid: "/m/2", description: "Macaque", score: 0.97),
        Vision.Label(mid: "/m/3", description: "Cabinet", score: 0.8),
    ]
    let scores = LabelScorer.scores(returned, vocabulary: v)
    #expect(scores == ["monkey": 0.97])
    #expect(scores["cage"] == nil)
}

@Test("search terms in other languages map to labels; English terms find their label by synonym", .tags(.unit))
func multilingualTerms() throws {
    var v = LabelVocabulary()
    try v.merge(
        fileText: """
            # labels
            monkey: monkey, primate, macaque
            scimmia -> monkey
            猴子 -> monkey   # Chinese
            Affe -> monkey, primate-ish
            """, name: "labels.txt")
    #expect(v.labels(forTerm: "Scimmia") == ["monkey"])
    #expect(v.labels(forTerm: "猴子") == ["monkey"])
    #expect(v.labels(forTerm: "macaque") == ["monkey"])
    #expect(v.labels(forTerm: "affe") == ["monkey", "primate-ish"])
    #expect(v.labels(forTerm: "gorilla") == [])
}

@Test("a malformed labels-file line is refused naming its number", .tags(.unit))
func malformedLabelsFile() {
    var v = LabelVocabulary()
    do {
        try v.merge(fileText: "monkey: primate\njust words\n", name: "labels.txt")
        Issue.record("accepted a malformed line")
    } catch let error as EnrichError {
        #expect(error.code == .labelsFile)
        #expect(error.input == "labels.txt line 2")
        #expect(error.description.contains("labels.txt line 2"))
    } catch {
        Issue.record("unexpected \(error)")
    }
}

@Test("the Vision request asks for LABEL_DETECTION only, with standard base64 image bytes", .tags(.unit))
func requestIsLabelsOnly() throws {
    let body = Vision.requestBody(images: [[1, 2, 3], [0xFF]])
    let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    let requests = try #require(json["requests"] as? [[String: Any]])
    #expect(requests.count == 2)
    for (request, expected) in zip(requests, ["AQID", "/w=="]) {
        let features = try #require(request["features"] as? [[String: Any]])
        #expect(features.count == 1)
        #expect(features[0]["type"] as? String == "LABEL_DETECTION")
        #expect((request["image"] as? [String: Any])?["content"] as? String == expected)
    }
}

@Test("a Vision response with a per-image error decodes both neighbours", .tags(.unit))
func responseDecodes() throws {
    let text = """
        {"responses": [
          {"labelAnnotations": [{"mid": "/m/0jbk", "description": "Monkey", "score": 0.97, "topicality": 0.97}]},
          {"error": {"code": 3, "message": "Bad image data."}},
          {}
        ]}
        """
    let response = try JSONDecoder().decode(Vision.Response.self, from: Data(text.utf8))
    #expect(response.responses?.count == 3)
    #expect(response.responses?[0].labelAnnotations?.first?.description == "Monkey")
    #expect(response.responses?[1].error?.code == 3)
    #expect(response.responses?[2].labelAnnotations == nil && response.responses?[2].error == nil)
}
