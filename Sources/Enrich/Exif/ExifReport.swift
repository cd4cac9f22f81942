/// A position read from the GPS IFD: signed decimal degrees and metres.
public struct ExifGPS: Sendable, Hashable {
    /// Latitude in degrees, negative south of the equator.
    public var latitude: Double
    /// Longitude in degrees, negative west of Greenwich.
    public var longitude: Double
    /// Altitude in metres, negative below sea level; nil when the file has none.
    public var altitude: Double?
    /// The GPS fix time as an ISO 8601 UTC date (`2008-10-23T14:27:07.24Z`), when present.
    public var time: String?
}

/// One tag as read: exiftool's family-1 group, its tag name, and the value.
public struct ExifEntry: Sendable, Hashable {
    /// The family-1 group (`IFD0`, `ExifIFD`, `GPS`, `InteropIFD`, `IFD1`, `SubIFD`, ...).
    public var group: String
    /// exiftool's tag name (`Make`, `FNumber`, `Exif_0xc5d9` for unknown tags).
    public var name: String
    /// The value, as `exiftool -n` gives it.
    public var value: ExifValue

    /// `Group:Tag`, as `exiftool -G1` keys it.
    public var key: String { group + ":" + name }
}

/// Everything photoseal read from one file's EXIF: tags, derived values and the first fault.
public struct ExifReport: Sendable {
    /// The file name or path as the caller gave it.
    public var file: String
    /// Tags in file order, named with exiftool's family-1 group and tag names
    /// (`IFD0:Make`, `ExifIFD:FNumber`, `GPS:GPSLatitude`); values as `exiftool -n` gives them.
    public var entries: [ExifEntry]

    /// The tags as `Group:Tag` keys and values, in file order.
    public var tags: [(key: String, value: ExifValue)] { entries.map { ($0.key, $0.value) } }
    /// The position, when the file has a latitude and a longitude in range.
    public var gps: ExifGPS?
    /// When the photo was taken, as ISO 8601 local time with fraction and offset when present
    /// (`2008-05-30T15:56:01.00+02:00`), from DateTimeOriginal, SubSecTimeOriginal and
    /// OffsetTimeOriginal.
    public var dateTimeOriginal: String?
    /// The EXIF byte order, `II` (little-endian) or `MM` (big-endian), as exiftool's
    /// `File:ExifByteOrder`; nil when there is no EXIF.
    public var byteOrder: String?
    /// Where the EXIF TIFF header starts in the file; offset tags (`IFD1:ThumbnailOffset`, ...)
    /// count from the start of the file, as exiftool reports them. Nil when there is no EXIF.
    public var exifOffset: Int?
    /// Where the undecoded MakerNote sits (offset from the TIFF header, length), when present.
    public var makerNote: (offset: Int, length: Int)?
    /// The first fault met while reading, nil when the file read cleanly. Tags read before the
    /// fault are kept.
    public var error: EnrichError?

    /// The value of one tag by its `Group:Tag` key.
    public subscript(key: String) -> ExifValue? {
        let parts = key.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return entries.first(where: { $0.name == parts[1] && $0.group == parts[0] })?.value
    }

    /// The report as the JSON object `photoseal exif --json` prints for the file (and the
    /// pipeline seals as `sealed.exif`), with a stable key order:
    /// `{"file":…,"tags":{…},"gps":{"lat":…,"lon":…,"alt":…,"time":…} or null,"error":null or "…"}`.
    public func jsonObject() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128 + entries.count * 48)
        writeJSON(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``jsonObject()``'s UTF-8 bytes to `out` (no `String` in between: `exif --json`
    /// writes thousands of objects into one output buffer).
    public func writeJSON(into out: inout [UInt8]) {
        JSONWriter.append(#"{"file":"#, to: &out)
        JSONWriter.string(file, into: &out)
        JSONWriter.append(#","tags":{"#, to: &out)
        for index in entries.indices {
            // Group and tag names are ASCII letters, digits, '_' and '-': nothing to escape.
            JSONWriter.key(entries[index].group, entries[index].name, first: index == 0, into: &out)
            entries[index].value.writeJSON(into: &out)
        }
        JSONWriter.append(#"},"gps":"#, to: &out)
        if let gps {
            JSONWriter.append(#"{"lat":"#, to: &out)
            JSONWriter.number(gps.latitude, into: &out)
            JSONWriter.append(#","lon":"#, to: &out)
            JSONWriter.number(gps.longitude, into: &out)
            JSONWriter.append(#","alt":"#, to: &out)
            if let altitude = gps.altitude {
                JSONWriter.number(altitude, into: &out)
            } else {
                JSONWriter.append("null", to: &out)
            }
            JSONWriter.append(#","time":"#, to: &out)
            if let time = gps.time { JSONWriter.string(time, into: &out) } else { JSONWriter.append("null", to: &out) }
            out.append(UInt8(ascii: "}"))
        } else {
            JSONWriter.append("null", to: &out)
        }
        JSONWriter.append(#","error":"#, to: &out)
        if let error { JSONWriter.string(error.description, into: &out) } else { JSONWriter.append("null", to: &out) }
        out.append(UInt8(ascii: "}"))
    }

    /// A JSON array of reports, one object per line, as `photoseal exif --json` prints it.
    public static func jsonArray(_ reports: [ExifReport]) -> String {
        reports.isEmpty ? "[\n]" : "[\n" + reports.map { "  " + $0.jsonObject() }.joined(separator: ",\n") + "\n]"
    }
}
