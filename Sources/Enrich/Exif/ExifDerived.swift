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
            let time = value("GPS", "GPSTimeStamp")?.textValue, let day = isoDate(Array(date.utf8)),
            validTime(Array(time.utf8))
        else { return nil }
        return day + "T" + time + "Z"
    }

    /// DateTimeOriginal with SubSecTimeOriginal and OffsetTimeOriginal, in ISO 8601 form.
    static func dateTimeOriginal(_ value: (String, String) -> ExifValue?) -> String? {
        guard let stamp = value("ExifIFD", "DateTimeOriginal")?.textValue?.trimmingSpaces() else { return nil }
        let bytes = Array(stamp.utf8)
        guard bytes.count >= 19, bytes[10] == 0x20, let day = isoDate(Array(bytes[0..<10])),
            validTime(Array(bytes[11...]))
        else { return nil }
        var result = day + "T" + String(decoding: bytes[11...], as: UTF8.self)
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

    /// The number in `bytes[range]` when every byte is a digit.
    private static func number(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        var result = 0
        for index in range {
            guard isDigit(bytes[index]) else { return nil }
            result = result * 10 + Int(bytes[index] - 0x30)
        }
        return result
    }

    /// `YYYY-MM-DD` from EXIF's `YYYY:MM:DD`, when it is a plausible date.
    private static func isoDate(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 10, bytes[4] == 0x3A, bytes[7] == 0x3A, let year = number(bytes, 0..<4),
            let month = number(bytes, 5..<7), let day = number(bytes, 8..<10), year > 0, (1...12).contains(month),
            (1...31).contains(day)
        else { return nil }
        var out = bytes
        out[4] = 0x2D
        out[7] = 0x2D
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `HH:MM:SS[.fff]` is a plausible time of day.
    private static func validTime(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 8, bytes[2] == 0x3A, bytes[5] == 0x3A, let hours = number(bytes, 0..<2),
            let minutes = number(bytes, 3..<5), let seconds = number(bytes, 6..<8), hours <= 23, minutes <= 59,
            seconds <= 60
        else { return false }
        if bytes.count == 8 { return true }
        return bytes[8] == 0x2E && bytes.count > 9 && bytes[9...].allSatisfy(isDigit)
    }
}
