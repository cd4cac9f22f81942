/// Text put into HTML or XML that photoseal writes (the request form's pages, the delivery
/// mail's HTML part, S3 request bodies): the five markup characters as entities, valid in
/// element content and in quoted attribute values of both.
public enum MarkupText {
    /// `text` with `&`, `<`, `>`, `"` and `'` escaped (`'` as `&#39;`, which HTML and XML both read).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
