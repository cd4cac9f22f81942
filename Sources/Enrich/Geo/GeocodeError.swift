/// The error type of the offline reverse geocoder: what failed, on which input, and what to do.
///
/// It follows the pattern of the module's `EnrichError`: `code` says which kind of failure it
/// is (compare it against the static constants of ``GeocodeError/Code``), `input` names the value
/// or file the failure is about, `detail` is a short technical explanation.
public struct GeocodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An extensible error kind: compare with the static constants, switch with `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable identifier of the code, e.g. `geocode.invalid-coordinate`.
        public let rawValue: String

        /// Creates a code from its identifier.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// The identifier of the code.
        public var description: String { rawValue }

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
    /// The value or file name the failure is about.
    public var input: String
    /// A short technical explanation of what was wrong.
    public var detail: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - input: the value or file name concerned.
    ///   - detail: what was wrong, in a few words.
    public init(_ code: Code, input: String, detail: String) {
        self.code = code
        self.input = input
        self.detail = detail
    }

    /// Whether trying again unchanged may succeed: never, the geocoder does no transient I/O.
    public var isRetriable: Bool { false }

    /// What failed, on which input, and what to do about it.
    public var description: String {
        "\(input): \(detail) (\(code)); \(advice)"
    }

    private var advice: String {
        switch code {
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
