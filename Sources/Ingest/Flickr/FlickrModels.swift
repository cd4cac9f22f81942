import Foundation

/// A JSON value that may arrive as a number or as a string holding one (Flickr sends both).
struct LooseNumber: Decodable, Sendable, Equatable {
    let value: Double?

    init(_ value: Double?) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = nil
        } else if let number = try? container.decode(Double.self) {
            value = number.isFinite ? number : nil
        } else if let text = try? container.decode(String.self) {
            value = Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
        } else if let flag = try? container.decode(Bool.self) {
            value = flag ? 1 : 0
        } else {
            value = nil
        }
    }

    /// The value as an integer when it is one within `Int`'s range.
    var int: Int? {
        guard let value, value.rounded() == value, abs(value) < 9e15 else { return nil }
        return Int(value)
    }
}

/// A JSON value that may arrive as a string or a number; kept as text (ids, license).
struct LooseString: Decodable, Sendable, Equatable {
    let value: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = nil
        } else if let text = try? container.decode(String.self) {
            value = text
        } else if let number = try? container.decode(Int64.self) {
            value = String(number)
        } else if let number = try? container.decode(Double.self) {
            value = String(number)
        } else {
            value = nil
        }
    }
}

/// Flickr's `{"_content": "..."}` wrapper (also accepts a bare string).
struct FlickrContent: Decodable, Sendable {
    let text: String

    enum CodingKeys: String, CodingKey { case content = "_content" }

    init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            self.text = text
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        text = (try? container.decodeIfPresent(LooseString.self, forKey: .content))??.value ?? ""
    }
}

/// One photo of a `flickr.photos.search` answer with the extras photoseal asks for.
public struct FlickrPhoto: Decodable, Sendable {
    /// The photo id.
    public let id: String
    let owner: String?
    let ownerName: String?
    let pathAlias: String?
    let secret: String?
    let server: String?
    let title: String
    let description: String
    let license: String?
    /// `YYYY-MM-DD HH:MM:SS` as Flickr gives it.
    public let dateTaken: String?
    let dateUpload: LooseNumber?
    let tags: String
    let machineTags: String
    let views: LooseNumber?
    let latitude: LooseNumber?
    let longitude: LooseNumber?
    let accuracy: LooseNumber?
    let originalSecret: String?
    let originalFormat: String?
    let media: String?
    let sizes: [(size: String, url: String, width: Int?, height: Int?)]

    static let sizeSuffixes = ["o", "k", "h", "l", "c"]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes tolerantly: numbers may be strings, text fields may be missing.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func string(_ key: String) -> String? {
            guard let value = (try? c.decodeIfPresent(LooseString.self, forKey: Key(key))) ?? nil else { return nil }
            return value.value
        }
        func number(_ key: String) -> LooseNumber? {
            (try? c.decodeIfPresent(LooseNumber.self, forKey: Key(key))) ?? nil
        }
        guard let id = string("id"), !id.isEmpty, id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: c.codingPath, debugDescription: "a photo has no numeric id"))
        }
        self.id = id
        owner = string("owner")
        ownerName = string("ownername")
        pathAlias = string("pathalias")
        secret = string("secret")
        server = string("server")
        title = string("title") ?? ""
        description = ((try? c.decodeIfPresent(FlickrContent.self, forKey: Key("description"))) ?? nil)?.text ?? ""
        license = string("license")
        dateTaken = string("datetaken")
        dateUpload = number("dateupload")
        tags = string("tags") ?? ""
        machineTags = string("machine_tags") ?? ""
        views = number("views")
        latitude = number("latitude")
        longitude = number("longitude")
        accuracy = number("accuracy")
        originalSecret = string("originalsecret")
        originalFormat = string("originalformat")
        media = string("media")
        var sizes: [(String, String, Int?, Int?)] = []
        for suffix in Self.sizeSuffixes {
            if let url = string("url_\(suffix)"), !url.isEmpty {
                sizes.append((suffix, url, number("width_\(suffix)")?.int, number("height_\(suffix)")?.int))
            }
        }
        self.sizes = sizes
    }
}

/// One page of a `flickr.photos.search` answer.
public struct FlickrSearchPage: Sendable {
    /// The page number the server says this is.
    public var page: Int
    /// The number of pages the server reports.
    public var pages: Int
    /// Photos per page the server used.
    public var perPage: Int
    /// The true number of matching photos (may exceed what paging can reach).
    public var total: Int
    /// The photos on this page.
    public var photos: [FlickrPhoto]
}

/// The envelope of every Flickr REST answer.
struct FlickrEnvelope: Decodable {
    let stat: String?
    let code: LooseNumber?
    let message: String?
    let photos: Photos?

    struct Photos: Decodable {
        let page: LooseNumber?
        let pages: LooseNumber?
        let perpage: LooseNumber?
        let total: LooseNumber?
        let photo: [Lossy]?
    }

    /// A photo that failed to decode becomes `nil` instead of failing the page.
    struct Lossy: Decodable {
        let photo: FlickrPhoto?
        init(from decoder: any Decoder) throws { photo = try? FlickrPhoto(from: decoder) }
    }
}
