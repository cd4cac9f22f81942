/// A photo licence as Flickr numbers it: the id a photo's `license` holds, with the licence's
/// name and the page that states its terms.
///
/// `License.flickr` is the one table of Flickr's licences (the list `flickr.photos.licenses.getInfo`
/// returns): export writes the name and URL beside each photo's licence id, and anything else
/// that shows or packs photos with their licence reads the same table.
public struct License: Sendable, Equatable, Hashable {
    /// Flickr's licence id, as a photo's `license` field holds it (`"0"` … `"16"`).
    public let id: String
    /// The licence's name as Flickr gives it, e.g. `Attribution-NonCommercial License`.
    public let name: String
    /// The page stating the licence's terms; `nil` for "All Rights Reserved", which has none.
    public let url: String?

    /// Makes an entry.
    public init(id: String, name: String, url: String?) {
        self.id = id
        self.name = name
        self.url = url
    }

    /// Every licence Flickr assigns, by id.
    public static let flickr: [License] = [
        License(id: "0", name: "All Rights Reserved", url: nil),
        License(
            id: "1", name: "Attribution-NonCommercial-ShareAlike License",
            url: "https://creativecommons.org/licenses/by-nc-sa/2.0/"),
        License(
            id: "2", name: "Attribution-NonCommercial License", url: "https://creativecommons.org/licenses/by-nc/2.0/"),
        License(
            id: "3", name: "Attribution-NonCommercial-NoDerivs License",
            url: "https://creativecommons.org/licenses/by-nc-nd/2.0/"),
        License(id: "4", name: "Attribution License", url: "https://creativecommons.org/licenses/by/2.0/"),
        License(
            id: "5", name: "Attribution-ShareAlike License", url: "https://creativecommons.org/licenses/by-sa/2.0/"),
        License(id: "6", name: "Attribution-NoDerivs License", url: "https://creativecommons.org/licenses/by-nd/2.0/"),
        License(id: "7", name: "No known copyright restrictions", url: "https://www.flickr.com/commons/usage/"),
        License(id: "8", name: "United States Government Work", url: "http://www.usa.gov/copyright.shtml"),
        License(
            id: "9", name: "Public Domain Dedication (CC0)",
            url: "https://creativecommons.org/publicdomain/zero/1.0/"),
        License(id: "10", name: "Public Domain Mark", url: "https://creativecommons.org/publicdomain/mark/1.0/"),
        License(id: "11", name: "CC BY 4.0", url: "https://creativecommons.org/licenses/by/4.0/"),
        License(id: "12", name: "CC BY-SA 4.0", url: "https://creativecommons.org/licenses/by-sa/4.0/"),
        License(id: "13", name: "CC BY-ND 4.0", url: "https://creativecommons.org/licenses/by-nd/4.0/"),
        License(id: "14", name: "CC BY-NC 4.0", url: "https://creativecommons.org/licenses/by-nc/4.0/"),
        License(id: "15", name: "CC BY-NC-SA 4.0", url: "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
        License(id: "16", name: "CC BY-NC-ND 4.0", url: "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    ]

    private static let byID: [String: License] = Dictionary(uniqueKeysWithValues: flickr.map { ($0.id, $0) })

    /// The Flickr licence with this id (`nil` for no id or one Flickr does not list).
    public static func flickr(id: String?) -> License? {
        id.flatMap { byID[$0] }
    }
}
