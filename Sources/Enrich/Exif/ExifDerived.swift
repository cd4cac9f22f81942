/// Values photoseal derives from several tags: the signed position and the capture time.
enum ExifDerived {
    static func gps(_ value: (String, String) -> ExifValue?) -> ExifGPS? {
        guard let latitude = value("GPS", "GPSLatitude")?.doubleValue,
            let longitude = value("GPS", "GPSLongitude")?.doubleValue
        else { return nil }
        let south = value("GPS", "GPSLatitudeRef")?.textValue?.uppercased().hasPrefix("S") == true
        let west = value("GPS", "GPSLongitudeRef")?.textValue?.uppercased().hasPrefix("W") == true
        let lat = south ? -latitude : latitude
        let lon = west ? -longitude : longitude
        guard lat.isFinite, lon.isFinite, abs(lat) <= 90, abs(lon) <= 180 else { return nil }
        var altitude = value("GPS", "GPSAltitude")?.doubleValue
        if let metres = altitude, case .integer(1) = value("GPS", "GPSAltitudeRef") ?? .integer(0) {
            altitude = -metres
        }
        if let metres = altitude, !metres.isFinite { altitude = nil }
        return ExifGPS(latitude: lat, longitude: lon, altitude: altitude, time: gpsTime(value))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f]Z` from GPSDateStamp and GPSTimeStamp, when both are sane.
    static func gpsTime(_ value: (String, String) -> ExifValue?) -> String? {
        guard let date = value("GPS", "GPSDateStamp")?.textValue?.trimmingSpaces(),
            let time = value("GPS", "GPSTimeStamp")?.textValue, let day = isoDate(Array(date.utf8)[...]),
            validTime(Array(time.utf8)[...])
        else { return nil }
        return day + "T" + time + "Z"
    }

    /// DateTimeOriginal with SubSecTimeOriginal and OffsetTimeOriginal, in ISO 8601 form.
    static func dateTimeOriginal(_ value: (String, String) -> ExifValue?) -> String? {
        guard let text = value("ExifIFD", "DateTimeOriginal")?.textValue else { return nil }
        // Built as bytes, then one String: this runs for nearly every photo.
        let bytes = trimmedBytes(text)
        guard bytes.count >= 19, bytes[bytes.startIndex + 10] == 0x20,
            validDate(bytes.prefix(10)), validTime(bytes.dropFirst(11))
        else { return nil }
        var stamp = bytes
        let at = stamp.startIndex
        stamp[at + 4] = 0x2D
        stamp[at + 7] = 0x2D
        stamp[at + 10] = UInt8(ascii: "T")
        var result = String(decoding: stamp, as: UTF8.self)
        if let sub = value("ExifIFD", "SubSecTimeOriginal").map({ $0.exiftoolText.trimmingSpaces() }),
            !sub.isEmpty, sub.utf8.allSatisfy(isDigit)
        {
            result += "." + sub
        }
        if let offset = value("ExifIFD", "OffsetTimeOriginal")?.textValue?.trimmingSpaces() {
            let o = Array(offset.utf8)
            if o.count == 6, o[0] == 0x2B || o[0] == 0x2D, o[3] == 0x3A, [1, 2, 4, 5].allSatisfy({ isDigit(o[$0]) }) {
                result += offset
            }
        }
        return result
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// The number in `bytes[range]` (offsets from the slice's start) when every byte is a digit.
    private static func number(_ bytes: ArraySlice<UInt8>, _ range: Range<Int>) -> Int? {
        var result = 0
        for offset in range {
            let byte = bytes[bytes.startIndex + offset]
            guard isDigit(byte) else { return nil }
            result = result * 10 + Int(byte - 0x30)
        }
        return result
    }

    /// Whether `bytes` is EXIF's `YYYY:MM:DD` with a plausible date.
    private static func validDate(_ bytes: ArraySlice<UInt8>) -> Bool {
        let at = bytes.startIndex
        guard bytes.count == 10, bytes[at + 4] == 0x3A, bytes[at + 7] == 0x3A, let year = number(bytes, 0..<4),
            let month = number(bytes, 5..<7), let day = number(bytes, 8..<10)
        else { return false }
        return year > 0 && (1...12).contains(month) && (1...31).contains(day)
    }

    /// `YYYY-MM-DD` from EXIF's `YYYY:MM:DD`, when it is a plausible date.
    private static func isoDate(_ bytes: ArraySlice<UInt8>) -> String? {
        guard validDate(bytes) else { return nil }
        var out = Array(bytes)
        out[4] = 0x2D
        out[7] = 0x2D
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `HH:MM:SS[.fff]` is a plausible time of day.
    private static func validTime(_ bytes: ArraySlice<UInt8>) -> Bool {
        let at = bytes.startIndex
        guard bytes.count >= 8, bytes[at + 2] == 0x3A, bytes[at + 5] == 0x3A, let hours = number(bytes, 0..<2),
            let minutes = number(bytes, 3..<5), let seconds = number(bytes, 6..<8), hours <= 23, minutes <= 59,
            seconds <= 60
        else { return false }
        if bytes.count == 8 { return true }
        return bytes[at + 8] == 0x2E && bytes.count > 9 && bytes.dropFirst(9).allSatisfy(isDigit)
    }

    /// The UTF-8 bytes of `text` without leading and trailing spaces, tabs, NULs and line
    /// breaks (as ``Swift/String/trimmingSpaces()``, whose characters are all single bytes).
    private static func trimmedBytes(_ text: String) -> ArraySlice<UInt8> {
        let bytes = Array(text.utf8)
        func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0
        }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return bytes[first...last]
    }
}
