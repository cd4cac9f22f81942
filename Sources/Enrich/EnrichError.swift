/// The one error type of the `Enrich` module: what failed, on which input, and what to do.
///
/// `code` says which kind of failure it is (compare it against the static constants of
/// ``EnrichError/Code``); `input` names the file or value the failure is about (a file name,
/// never file contents or personal data); `detail` is a short technical explanation.
public struct EnrichError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An extensible error kind: compare with the static constants, switch with `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable identifier of the code, e.g. `exif.truncated`.
        public let rawValue: String

        /// Creates a code from its identifier; modules add theirs as static constants.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// The identifier of the code.
        public var description: String { rawValue }

        /// The file could not be opened or read (missing, unreadable, a directory).
        public static let fileUnreadable = Code("file.unreadable")
        /// The file is empty or is not an image container photoseal reads.
        public static let unsupportedFormat = Code("exif.unsupported-format")
        /// The file or its metadata block ends before the data it announces.
        public static let truncated = Code("exif.truncated")
        /// The EXIF structure is inconsistent: bad offsets, loops, bad byte order, bad types.
        public static let malformed = Code("exif.malformed")
        /// The file asks for more work than the reader's per-file budget allows.
        public static let limitExceeded = Code("exif.limit-exceeded")
        /// A labels-file line is neither `label: synonym, ...` nor `term -> label, ...`.
        public static let labelsFile = Code("labels.malformed-line")
        /// A latitude or longitude is not a finite number within ±90° / ±180°.
        public static let invalidCoordinate = Code("geocode.invalid-coordinate")
        /// A filter value is out of range (a negative or non-finite distance, a negative population).
        public static let invalidFilter = Code("geocode.invalid-filter")
        /// The bundled GeoNames index files could not be found or read.
        public static let resourceMissing = Code("geocode.resource-missing")
        /// The GeoNames index files are present but damaged or of another format version.
        public static let resourceCorrupt = Code("geocode.resource-corrupt")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file name or value the failure is about.
    public var input: String
    /// A short technical explanation of what was wrong.
    public var detail: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - input: the file name or value concerned.
    ///   - detail: what was wrong, in a few words.
    public init(_ code: Code, input: String, detail: String) {
        self.code = code
        self.input = input
        self.detail = detail
    }

    /// Whether trying again unchanged may succeed (only reading a file can fail transiently).
    public var isRetriable: Bool { code == .fileUnreadable }

    /// What failed, on which input, and what to do about it.
    public var description: String {
        "\(input): \(detail) (\(code)); \(advice)"
    }

    private var advice: String {
        switch code {
        case .fileUnreadable: "check that the path exists and is a readable file"
        case .unsupportedFormat: "photoseal reads EXIF from JPEG, TIFF/raw, PNG, WebP and HEIC/AVIF files"
        case .truncated: "the file is incomplete; tags read before the cut are kept, re-download it for the rest"
        case .malformed: "the EXIF block is damaged; tags read before the fault are kept"
        case .limitExceeded: "the EXIF block is implausibly large; tags read within the limit are kept"
        case .labelsFile: "write each line as `label: synonym, ...` or `term -> label, ...` (# starts a comment)"
        case .invalidCoordinate:
            "give latitude in -90...90 and longitude in -180...180 as decimal degrees, e.g. 48.8566,2.3522"
        case .invalidFilter: "give a distance in km ≥ 0 and a population ≥ 0"
        case .resourceMissing:
            "reinstall photoseal with its photoseal_Enrich resource bundle beside the executable, "
                + "or set PHOTOSEAL_GEONAMES_DIR to a folder holding the geonames-*.bin files"
        case .resourceCorrupt:
            "rebuild the index with scripts/build-geonames-index.py or reinstall photoseal"
        default: "see the detail above"
        }
    }
}

extension EnrichError {
    /// The error for line `line` (1-based) of the labels file `file` that is neither form.
    public static func labelsFileLine(file: String, line: Int) -> EnrichError {
        EnrichError(
            .labelsFile, input: "\(file) line \(line)",
            detail: "the line is neither `label: synonym, ...` nor `term -> label, ...`")
    }
}
