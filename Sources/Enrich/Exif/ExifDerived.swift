/// Values photoseal derives from several tags: the signed position and the capture time.
enum ExifDerived {
    static func gps(_ value: (String) -> ExifValue?) -> ExifGPS? {
        guard let latitude = value("GPS:GPSLatitude")?.doubleValue,
            let longitude = value("GPS:GPSLongitude")?.doubleValue
        else { return nil }
        let south = value("GPS:GPSLatitudeRef")?.textValue?.uppercased().hasPrefix("S") == true
        let west = value("GPS:GPSLongitudeRef")?.textValue?.uppercased().hasPrefix("W") == true
        let lat = south ? -latitude : latitude
        let lon = west ? -longitude : longitude
        guard lat.isFinite, lon.isFinite, abs(lat) <= 90, abs(lon) <= 180 else { return nil }
        var altitude = value("GPS:GPSAltitude")?.doubleValue
        if let metres = altitude, case .integer(1) = value("GPS:GPSAltitudeRef") ?? .integer(0) {
            altitude = -metres
        }
        if let metres = altitude, !metres.isFinite { altitude = nil }
        return ExifGPS(latitude: lat, longitude: lon, altitude: altitude, time: gpsTime(value))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f]Z` from GPSDateStamp and GPSTimeStamp, when both are sane.
    static func gpsTime(_ value: (String) -> ExifValue?) -> String? {
        guard let date = value("GPS:GPSDateStamp")?.textValue?.trimmingSpaces(),
            let time = value("GPS:GPSTimeStamp")?.textValue, let day = isoDate(date), validTime(time)
        else { return nil }
        return day + "T" + time + "Z"
    }

    /// DateTimeOriginal with SubSecTimeOriginal and OffsetTimeOriginal, in ISO 8601 form.
    static func dateTimeOriginal(_ value: (String) -> ExifValue?) -> String? {
        guard let stamp = value("ExifIFD:DateTimeOriginal")?.textValue?.trimmingSpaces() else { return nil }
        let parts = stamp.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let day = isoDate(String(parts[0])), validTime(String(parts[1])) else { return nil }
        var result = day + "T" + parts[1]
        if let sub = value("ExifIFD:SubSecTimeOriginal").map({ $0.exiftoolText.trimmingSpaces() }),
            !sub.isEmpty, sub.allSatisfy(\.isNumber)
        {
            result += "." + sub
        }
        if let offset = value("ExifIFD:OffsetTimeOriginal")?.textValue?.trimmingSpaces(), validOffset(offset) {
            result += offset
        }
        return result
    }

    private static func isoDate(_ text: String) -> String? {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 3, let year = Int(fields[0]), let month = Int(fields[1]), let day = Int(fields[2]),
            fields[0].count == 4, (1...12).contains(month), (1...31).contains(day), year > 0
        else { return nil }
        return "\(fields[0])-\(fields[1])-\(fields[2])"
    }

    private static func validTime(_ text: String) -> Bool {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 3, let hours = Int(fields[0]), let minutes = Int(fields[1]),
            let seconds = Double(fields[2]), fields[0].count == 2, fields[1].count == 2
        else { return false }
        return (0...23).contains(hours) && (0...59).contains(minutes) && seconds >= 0 && seconds < 61
    }

    private static func validOffset(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 6, scalars[0] == "+" || scalars[0] == "-", scalars[3] == ":" else { return false }
        return [1, 2, 4, 5].allSatisfy { ("0"..."9").contains(scalars[$0]) }
    }
}
