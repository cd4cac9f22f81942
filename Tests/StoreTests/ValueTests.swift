import Foundation
import Store
import Testing

/// The value model and its JSON export (pure logic, no I/O). Expected texts come from Python's
/// `datetime.isoformat()`, `json.dumps(ensure_ascii=False)` and `repr(float)`.
@Suite("document values", .tags(.unit))
struct ValueTests {
    @Test("dotted paths read nested documents and array elements")
    func dottedLookup() {
        let document: StoreDocument = ["seal": ["kid": "k1"], "terms": ["a", "b"], "geo": .null]
        #expect(document.value(at: "seal.kid") == "k1")
        #expect(document.value(at: "terms.1") == "b")
        #expect(document.value(at: "terms.2") == nil)
        #expect(document.value(at: "seal.kid.more") == nil)
        #expect(document.value(at: "geo") == .null)
        #expect(document.matches("geo.lat", .null))
        #expect(document.matches("terms", "a"))
        #expect(!document.matches("terms", "c"))
    }

    @Test("setting a dotted path creates missing documents and keeps field order")
    func dottedSet() {
        var document: StoreDocument = ["_id": "x", "seal": ["kid": "k1", "at": 1]]
        let setKid = document.setValue("k2", at: "seal.kid")
        let setOwner = document.setValue("t", at: "sealed.owner")
        #expect(setKid && setOwner)
        #expect(document.keys == ["_id", "seal", "sealed"])
        #expect(document.value(at: "seal")?.documentValue?.keys == ["kid", "at"])
        #expect(document.value(at: "seal.kid") == "k2")
        #expect(document.value(at: "sealed.owner") == "t")
        let setThroughString = document.setValue("y", at: "_id.inner")
        #expect(!setThroughString)
        #expect(document["_id"] == "x")
    }

    @Test("JSON export keeps order, tells ints from doubles and writes dates as ISO 8601 UTC")
    func json() {
        let document: StoreDocument = [
            "_id": "a", "n": 3, "whole": 2.0, "small": 1e-05, "text": "a\"b\\c\nd\u{1}é🐒",
            "when": .date(Date(timeIntervalSince1970: 1_715_000_000.123)),
            "old": .date(Date(timeIntervalSince1970: -86_400.5)), "none": .null, "nan": .double(.nan),
            "list": [true, false],
        ]
        #expect(
            document.jsonText
                == #"{"_id":"a","n":3,"whole":2.0,"small":1e-05,"text":"a\"b\\c\nd\u0001é🐒","#
                + #""when":"2024-05-06T12:53:20.123Z","old":"1969-12-30T23:59:59.500Z","none":null,"#
                + #""nan":null,"list":[true,false]}"#)
    }

    @Test("JSON dates agree with Foundation's ISO 8601 formatter from 1900 to 2100, leap days included")
    func jsonDatesMatchFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var milliseconds: Int64 = -2_208_988_800_000  // 1900-01-01
        let edges: [Int64] = [951_782_400_000, 951_868_799_999, 4_107_542_400_000, -1, 0, 1]  // 2000-02-29, 2100-03-01
        var checked = 0
        while milliseconds < 4_102_444_800_000 {  // 2100-01-01
            for value in [milliseconds] + (checked == 0 ? edges : []) {
                let date = Date(timeIntervalSince1970: Double(value) / 1000)
                #expect(StoreValue.date(date).jsonText == "\"\(formatter.string(from: date))\"", "\(value)")
            }
            checked += 1
            milliseconds += 86_400_000 * 13 + 3_723_457  // 13 days, 1 h 2 min 3.457 s: every month, hour, minute
        }
        #expect(checked > 5000)
    }

    @Test("a date is kept to the millisecond")
    func millisecondDates() {
        let fine = Date(timeIntervalSince1970: 1_700_000_000.123_456)
        #expect(StoreValue.millisecondDate(fine).timeIntervalSince1970 == 1_700_000_000.123)
    }
}

/// BSON bytes checked against the examples on bsonspec.org ("FAQ: What does BSON look like?").
@Suite("BSON encoding", .tags(.unit))
struct BSONTests {
    static let helloWorld: [UInt8] = Array("\u{16}\0\0\0\u{02}hello\0\u{06}\0\0\0world\0\0".utf8)
    static let awesome: [UInt8] =
        [0x31, 0, 0, 0, 0x04] + Array("BSON".utf8) + [0, 0x26, 0, 0, 0, 0x02, 0x30, 0, 0x08, 0, 0, 0]
        + Array("awesome".utf8) + [0, 0x01, 0x31, 0, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x14, 0x40]
        + [0x10, 0x32, 0, 0xC2, 0x07, 0, 0, 0, 0]

    @Test("documents encode to the bsonspec.org example bytes and decode back")
    func specExamples() throws {
        let hello: StoreDocument = ["hello": "world"]
        #expect(try hello.bsonBytes() == Self.helloWorld)
        #expect(try StoreDocument(bsonBytes: Self.helloWorld) == hello)

        let awesome: StoreDocument = ["BSON": ["awesome", 5.05, 1986]]
        #expect(try awesome.bsonBytes() == Self.awesome)
        #expect(try StoreDocument(bsonBytes: Self.awesome) == awesome)
    }

    @Test("truncated or damaged BSON is reported as corrupt, not a crash")
    func damaged() {
        var badInnerLength = Self.helloWorld
        badInnerLength[11] = 0x20  // the string "world" claims 32 bytes
        let cases: [[UInt8]] = [
            [], Array(Self.helloWorld.dropLast(3)), [0xFF, 0xFF, 0xFF, 0x7F, 0, 0], badInnerLength,
        ]
        for bytes in cases {
            let error = #expect(throws: StoreError.self) { _ = try StoreDocument(bsonBytes: bytes) }
            #expect(error?.code == .corrupt)
        }
    }
}
