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

/// Everything photoseal read from one file's EXIF: tags, derived values and the first fault.
public struct ExifReport: Sendable {
    /// The file name or path as the caller gave it.
    public var file: String
    /// Tags in file order, keyed `Group:Tag` with exiftool's family-1 group and tag names
    /// (`IFD0:Make`, `ExifIFD:FNumber`, `GPS:GPSLatitude`); values as `exiftool -n` gives them.
    public var tags: [(key: String, value: ExifValue)]
    /// The position, when the file has a latitude and a longitude in range.
    public var gps: ExifGPS?
    /// When the photo was taken, as ISO 8601 local time with fraction and offset when present
    /// (`2008-05-30T15:56:01.00+02:00`), from DateTimeOriginal, SubSecTimeOriginal and
    /// OffsetTimeOriginal.
    public var dateTimeOriginal: String?
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
        tags.first(where: { $0.key == key })?.value
    }

    /// The report as the JSON object `photoseal exif --json` prints for the file (and the
    /// pipeline seals as `sealed.exif`), with a stable key order:
    /// `{"file":…,"tags":{…},"gps":{"lat":…,"lon":…,"alt":…,"time":…} or null,"error":null or "…"}`.
    public func jsonObject() -> String {
        var out = "{\"file\":"
        JSONWriter.string(file, into: &out)
        out += ",\"tags\":{"
        for (index, tag) in tags.enumerated() {
            if index > 0 { out += "," }
            JSONWriter.string(tag.key, into: &out)
            out += ":"
            tag.value.writeJSON(into: &out)
        }
        out += "},\"gps\":"
        if let gps {
            out += "{\"lat\":" + JSONWriter.number(gps.latitude) + ",\"lon\":" + JSONWriter.number(gps.longitude)
            out += ",\"alt\":" + (gps.altitude.map(JSONWriter.number) ?? "null") + ",\"time\":"
            if let time = gps.time { JSONWriter.string(time, into: &out) } else { out += "null" }
            out += "}"
        } else {
            out += "null"
        }
        out += ",\"error\":"
        if let error { JSONWriter.string(error.description, into: &out) } else { out += "null" }
        out += "}"
        return out
    }

    /// A JSON array of reports, one object per line, as `photoseal exif --json` prints it.
    public static func jsonArray(_ reports: [ExifReport]) -> String {
        "[\n" + reports.map { "  " + $0.jsonObject() }.joined(separator: ",\n") + "\n]"
    }
}
