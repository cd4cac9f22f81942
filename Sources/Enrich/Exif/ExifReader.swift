/// Reads EXIF metadata from JPEG, TIFF and TIFF-based raw, PNG, WebP and HEIC/AVIF files.
///
/// Pure Swift, no image decoding: only the container headers and the EXIF block are read
/// (for a JPEG, the segment headers up to the image data). Every offset and count is
/// bounds-checked, IFD loops are detected and the work per file is bounded, so a damaged file
/// yields the tags read before the fault plus ``ExifReport/error``, never a crash or a hang.
///
/// ```swift
/// let report = ExifReader.read(path: "IMG_0001.jpg")
/// print(report["ExifIFD:FNumber"] ?? .text("none"), report.gps?.latitude ?? 0)
/// ```
public enum ExifReader {
    /// Reads the EXIF of the file at `path`; problems are reported in the result, never thrown.
    /// - Parameter path: the file to read; it also names the file in the report and in errors.
    public static func read(path: String) -> ExifReport { read(path: path, name: path) }

    /// Reads the EXIF of the file at `path`, reporting it (and naming it in errors) as `name`:
    /// a large download is read in place (`/proc/self/fd/N`) under the name its bytes would
    /// get in memory. Only the blocks the metadata lives in are read.
    public static func read(path: String, name: String) -> ExifReport {
        do {
            let source = try FileByteSource(path: path, name: name)
            return read(source: source, name: name)
        } catch {
            return ExifReport(file: name, entries: [], error: error)
        }
    }

    /// Reads the EXIF of the file at `path` as ``read(path:)`` does, opening it through
    /// `directory` (the folder of the previous file read on this thread, kept open).
    package static func read(path: String, directory: ExifDirectory) -> ExifReport {
        do {
            let source = try FileByteSource(path: path, name: path, directory: directory)
            return read(source: source, name: path)
        } catch {
            return ExifReport(file: path, entries: [], error: error)
        }
    }

    /// Reads the EXIF of a file already in memory.
    /// - Parameters:
    ///   - bytes: the whole file (or as much of it as is available).
    ///   - name: the file name used in the report and in error messages; its extension helps
    ///     name a few raw-format tags as exiftool does.
    public static func read(bytes: some Collection<UInt8>, name: String) -> ExifReport {
        read(source: MemoryByteSource(Array(bytes)), name: name)
    }

    static func read(source: any ExifByteSource, name: String) -> ExifReport {
        var report = ExifReport(file: name, entries: [], error: nil)
        do {
            let scan = try ExifContainers.scan(source, name: name)
            guard let location = scan.location else {
                report.error = scan.error
                return report
            }
            let walker = TIFFWalker(
                source: location.source, base: location.base, limit: location.length, name: name, kind: location.kind,
                fileBase: location.fileBase)
            var walkError: EnrichError?
            do {
                try walker.walk()
                if let embedded = walker.embeddedJPEG {
                    let slice = SliceByteSource(location.source, start: embedded.offset, length: embedded.length)
                    if let inner = try ExifContainers.scan(slice, name: name).location {
                        let innerWalker = TIFFWalker(
                            source: inner.source, base: inner.base, limit: inner.length, name: name, kind: inner.kind,
                            fileBase: embedded.offset + inner.fileBase)
                        try innerWalker.walk()
                        walker.merge(innerWalker)
                    }
                }
            } catch { walkError = error }
            report.entries = walker.tags
            report.exifOffset = location.fileBase
            report.byteOrder = walker.byteOrder
            report.makerNote = walker.makerNote
            report.error = walkError ?? walker.error ?? scan.error
            let picked = walker.derivedInputs
            // A local function, not a closure value: passed as non-escaping, it needs no heap context.
            func lookup(_ group: String, _ name: String) -> ExifValue? {
                picked.first(where: { $0.name == name && $0.group == group })?.value
            }
            report.gps = ExifDerived.gps(lookup)
            report.dateTimeOriginal = ExifDerived.dateTimeOriginal(lookup)
        } catch {
            report.error = error
        }
        return report
    }
}
