/// What an image file is, told from its first bytes, and its pixel size from its headers.
///
/// No decoding: JPEG frame headers, PNG `IHDR`, GIF's logical screen, WebP's `VP8`/`VP8L`/
/// `VP8X` chunks; other formats (TIFF, HEIC/AVIF) are recognised with no size. Every read is
/// bounds-checked, so any input gives an answer or `nil`, never a trap.
public struct ImageFormat: Sendable, Equatable {
    /// `jpeg`, `png`, `gif`, `webp`, `tiff`, `heic` or `avif`.
    public var name: String
    /// The file extension the image store uses (`jpg`, `png`, …).
    public var fileExtension: String

    /// The format of a file starting with `head` (16 bytes suffice), or `nil` when it is not
    /// an image photoseal knows.
    public static func sniff(_ head: some Collection<UInt8>) -> ImageFormat? {
        let b = Array(head.prefix(16))
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + prefix.count && Array(b[offset..<offset + prefix.count]) == prefix
        }
        if starts([0xFF, 0xD8, 0xFF]) { return ImageFormat(name: "jpeg", fileExtension: "jpg") }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return ImageFormat(name: "png", fileExtension: "png")
        }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) {
            return ImageFormat(name: "gif", fileExtension: "gif")
        }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) {
            return ImageFormat(name: "webp", fileExtension: "webp")
        }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) {
            return ImageFormat(name: "tiff", fileExtension: "tif")
        }
        if starts(Array("ftyp".utf8), at: 4), b.count >= 12 {
            let brand = String(decoding: b[8..<12], as: UTF8.self)
            if brand.hasPrefix("avi") { return ImageFormat(name: "avif", fileExtension: "avif") }
            if ["heic", "heix", "mif1", "msf1", "heim", "heis"].contains(brand) {
                return ImageFormat(name: "heic", fileExtension: "heic")
            }
        }
        return nil
    }

    /// Width and height in pixels from the headers of a whole file, when the format has them
    /// where this reader looks.
    public static func dimensions(_ bytes: [UInt8], format: ImageFormat) -> (width: Int, height: Int)? {
        func be16(_ i: Int) -> Int? { i + 2 <= bytes.count ? Int(bytes[i]) << 8 | Int(bytes[i + 1]) : nil }
        func le16(_ i: Int) -> Int? { i + 2 <= bytes.count ? Int(bytes[i]) | Int(bytes[i + 1]) << 8 : nil }
        func be32(_ i: Int) -> Int? {
            guard let hi = be16(i), let lo = be16(i + 2) else { return nil }
            return hi << 16 | lo
        }
        func le24(_ i: Int) -> Int? {
            i + 3 <= bytes.count ? Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 : nil
        }
        switch format.name {
        case "jpeg":
            var i = 2
            while i + 4 <= bytes.count {
                guard bytes[i] == 0xFF else { return nil }
                let marker = bytes[i + 1]
                if marker == 0xFF {
                    i += 1
                    continue
                }
                if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) {
                    i += 2
                    continue
                }
                guard let length = be16(i + 2), length >= 2 else { return nil }
                // SOF0…SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                    guard let height = be16(i + 5), let width = be16(i + 7) else { return nil }
                    return (width, height)
                }
                if marker == 0xDA || marker == 0xD9 { return nil }
                i += 2 + length
            }
            return nil
        case "png":
            guard let width = be32(16), let height = be32(20) else { return nil }
            return (width, height)
        case "gif":
            guard let width = le16(6), let height = le16(8) else { return nil }
            return (width, height)
        case "webp":
            guard bytes.count >= 30 else { return nil }
            let chunk = String(decoding: bytes[12..<16], as: UTF8.self)
            switch chunk {
            case "VP8 ":
                guard let width = le16(26), let height = le16(28) else { return nil }
                return (width & 0x3FFF, height & 0x3FFF)
            case "VP8L":
                guard bytes.count >= 25 else { return nil }
                let bits = Int(bytes[21]) | Int(bytes[22]) << 8 | Int(bytes[23]) << 16 | Int(bytes[24]) << 24
                return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            case "VP8X":
                guard let width = le24(24), let height = le24(27) else { return nil }
                return (width + 1, height + 1)
            default: return nil
            }
        default:
            return nil
        }
    }
}
