import ArgumentParser
import Foundation
import HTTP
import Ingest
import Logging

// The option groups the stage commands share with `photoseal run`, so each flag is declared
// once and means the same everywhere.

/// `--store-images plain|stripped|sealed`.
enum StoreImagesOption: String, ExpressibleByArgument, CaseIterable {
    case plain, stripped, sealed

    var mode: ImageStore.Mode {
        switch self {
        case .plain: return .plain
        case .stripped: return .stripped
        case .sealed: return .sealed
        }
    }
}

/// `--store-images`: how images are kept at rest (import, download, run).
struct ImageModeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "How images are kept: plain, stripped or sealed (default: the workdir's job's mode, else stripped).",
            valueName: "mode"),
        completion: .list(StoreImagesOption.allCases.map(\.rawValue)))
    var storeImages: StoreImagesOption?

    @Option(
        help: ArgumentHelp(
            "Where images are kept: s3://BUCKET/PREFIX (shared by workers on several machines) or a folder (default: the workdir's job's, else the workdir).",
            valueName: "location"),
        completion: .directory)
    var imageStore: String?

    /// The mode given, if any.
    var mode: ImageStore.Mode? { storeImages?.mode }
}

extension Workspace {
    /// The image store of a command without `--image-store` (the job's, else the workdir's),
    /// reached through an HTTP client of its own when it is a bucket; `http` is shut down
    /// when the caller is done.
    func recordedImageStore(logger: Logger) async throws -> (store: ImageStore, http: HTTPClient) {
        let http = try HTTPClient(configuration: .photoseal, logger: logger)
        do {
            return (try await imageStore(http: http), http)
        } catch {
            http.shutdown()
            throw error
        }
    }
}

/// What to search Flickr for (search, run).
struct SearchQueryOptions: ParsableArguments {
    @Option(name: .customLong("term"), help: ArgumentHelp("A search term (repeatable, any script).", valueName: "text"))
    var terms: [String] = []

    @Option(
        help: ArgumentHelp("A UTF-8 file of terms, one a line, # comments.", valueName: "file"), completion: .file())
    var termsFile: String?

    // `.unconditional`: the value is the next word even when it starts with '-', so
    // `--bbox -75,40,-73,41` works as written (and a missing value is named by the check).
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The box minlon,minlat,maxlon,maxlat (west,south,east,north) in degrees, e.g. -75,40,-73,41.",
            discussion: """
                Values that make a box only when read as minlat,minlon,maxlat,maxlon (latitude and \
                longitude swapped) are refused; when both readings make a box the values cannot tell, \
                so the box is taken as given and its reading (latitudes, longitudes, corners) is \
                printed: check it. A box whose minlon is greater than its maxlon crosses the \
                antimeridian and needs --antimeridian.
                """,
            valueName: "box"))
    var bbox: String?

    @Flag(help: "Let --bbox cross the antimeridian (minlon greater than maxlon, e.g. 170,-20,-170,10).")
    var antimeridian = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Earliest taken date: YYYY-MM-DD, 'YYYY-MM-DD HH:MM:SS' or unix seconds (negative before 1970).",
            valueName: "date")
    )
    var minTaken: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Latest taken date (same forms).", valueName: "date"))
    var maxTaken: String?

    @Option(help: ArgumentHelp("Stop once the ledger holds this many photos.", valueName: "n"))
    var limit: Int?

    @Option(
        help: ArgumentHelp(
            "Deprecated (visible in ps): the Flickr API key; set FLICKR_API_KEY in the secrets file or the environment.",
            valueName: "key"))
    var apiKey: String?

    @Option(help: ArgumentHelp("The rate budget in calls per hour for the API key.", valueName: "n"))
    var ratePerHour: Double = 3600

    func validate() throws {
        guard UsageChecks.enabled else { return }
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
        if antimeridian, bbox == nil {
            throw ValidationError("--antimeridian goes with a --bbox whose minlon is greater than its maxlon")
        }
        guard ratePerHour.isFinite, ratePerHour >= 1 else {
            throw ValidationError("--rate-per-hour must be at least 1")
        }
    }

    /// Whether any query option was given (`run` takes either a query or an import source).
    var isGiven: Bool {
        !terms.isEmpty || termsFile != nil || bbox != nil || minTaken != nil || maxTaken != nil || limit != nil
    }

    /// The search as a job records it (`nil` when no search option was given).
    var job: Job.Search? {
        guard isGiven else { return nil }
        return Job.Search(
            terms: terms.isEmpty ? nil : terms, termsFile: termsFile, bbox: bbox, minTaken: minTaken,
            maxTaken: maxTaken, limit: limit)
    }

    /// The checked search plan; input problems become usage errors quoting the flag.
    func plan() throws -> SearchPlan {
        try Self.plan(
            Job.Search(terms: terms, termsFile: termsFile, bbox: bbox, minTaken: minTaken, maxTaken: maxTaken),
            antimeridian: antimeridian)
    }

    /// The checked search plan of a job's search; `antimeridian` lets its box cross the
    /// antimeridian (a recorded box was checked when it was given).
    static func plan(_ search: Job.Search, antimeridian: Bool) throws -> SearchPlan {
        let (terms, termsFile, bbox, minTaken, maxTaken) = (
            search.terms ?? [], search.termsFile, search.bbox, search.minTaken, search.maxTaken
        )
        var fileText: String?
        if let termsFile {
            guard let data = FileManager.default.contents(atPath: termsFile) else {
                throw ValidationError("--terms-file \(termsFile) cannot be read; check the path")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("--terms-file \(termsFile) is not UTF-8 text")
            }
            fileText = text
        }
        do {
            return try SearchPlan.make(
                terms: terms, termsFileText: fileText, bbox: bbox, antimeridian: antimeridian, minTaken: minTaken,
                maxTaken: maxTaken,
                now: Int64(Date().timeIntervalSince1970))
        } catch let error as IngestError {
            throw ValidationError(error.message)
        }
    }
}

/// How images are downloaded (download, run).
struct DownloadOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Downloads in flight at once.", valueName: "n"))
    var concurrency: Int = 16

    @Option(help: ArgumentHelp("Connections to one host at once.", valueName: "n"))
    var perHost: Int = 8

    @Option(
        name: .customLong("size"),
        help: ArgumentHelp(
            "Image sizes to try, in order (Flickr suffixes; default: the workdir's job's, else o,k,h,l,c).",
            valueName: "list"),
        completion: .list([DownloadOptions.defaultSizes, "o", "k", "h", "l", "c"]))
    var sizes: String?

    @OptionGroup var images: ImageModeOptions

    @Option(help: ArgumentHelp("Attempts per image for retriable failures.", valueName: "n"))
    var maxAttempts: Int = 5

    @Option(help: .hidden)
    var retryBaseDelay: Double = 0.5

    @Option(help: .hidden)
    var stallSeconds: Int = 30

    @Option(
        help: ArgumentHelp(
            "Seconds one image may take to arrive in all (default: 600, longer for a larger size cap).",
            valueName: "s"))
    var transferTimeout: Double?

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256") }
        guard (1...64).contains(perHost) else { throw ValidationError("--per-host must be between 1 and 64") }
        guard (1...20).contains(maxAttempts) else { throw ValidationError("--max-attempts must be between 1 and 20") }
        guard retryBaseDelay.isFinite, retryBaseDelay >= 0, stallSeconds >= 1 else {
            throw ValidationError("--retry-base-delay must be 0 or more")
        }
        if let transferTimeout, !(transferTimeout.isFinite && transferTimeout >= 1) {
            throw ValidationError("--transfer-timeout must be 1 second or more")
        }
        let list = sizeList
        guard !list.isEmpty, list.allSatisfy({ !$0.isEmpty && $0.count <= 3 }) else {
            throw ValidationError("--size takes Flickr size suffixes separated by commas, e.g. o,k,h,l,c")
        }
    }

    /// The sizes when none is given or recorded.
    static let defaultSizes = "o,k,h,l,c"

    var sizeList: [String] { Self.sizeList(sizes ?? Self.defaultSizes) }

    static func sizeList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The HTTP engine's settings for this many downloads.
    var httpConfiguration: HTTPClient.Configuration {
        HTTPClient.Configuration(
            userAgent: HTTPClient.Configuration.photoseal.userAgent, lowSpeedTime: stallSeconds,
            maxConnectionsPerHost: perHost, maxTotalConnections: max(concurrency, perHost))
    }

    /// The stage's options, in image mode `mode` with the sizes `sizes` (default: those given).
    func stageOptions(limit: Int? = nil, mode: ImageStore.Mode, sizes: String? = nil) -> DownloadStage.Options {
        DownloadStage.Options(
            concurrency: concurrency, sizes: Self.sizeList(sizes ?? self.sizes ?? Self.defaultSizes), mode: mode,
            maxAttempts: maxAttempts, retryBaseDelay: retryBaseDelay, limit: limit, transferTimeout: transferTimeout)
    }
}

/// The labels to score (score, run).
struct LabelOptions: ParsableArguments {
    @Option(name: .customLong("label"), help: ArgumentHelp("A label to score (repeatable).", valueName: "label"))
    var labels: [String] = []

    @Option(
        help: ArgumentHelp(
            "A labels file: `label: synonym, ...` and `term -> label, ...` lines.", valueName: "file"),
        completion: .file())
    var labelsFile: String?

    @Option(help: ArgumentHelp("Send (and pay for) at most this many images in this run.", valueName: "n"))
    var maxImages: Int?

    @Option(
        help: ArgumentHelp(
            "Stop labelling before the estimated price at the public rate passes this many US dollars.",
            valueName: "usd"))
    var maxCost: Double?

    func validate() throws {
        guard UsageChecks.enabled else { return }
        if let maxImages, maxImages < 0 { throw ValidationError("--max-images must be 0 or more") }
        if let maxCost, !maxCost.isFinite || maxCost < 0 {
            throw ValidationError("--max-cost must be a number of US dollars, 0 or more")
        }
        _ = try labelSet()
    }

    /// Whether any label was asked for.
    var isGiven: Bool { !labels.isEmpty || labelsFile != nil }

    /// The vocabulary and the labels asked for (every label of the file when no --label is given).
    func labelSet() throws -> (LabelVocabulary, [String]) { try Self.labelSet(labels: labels, labelsFile: labelsFile) }

    /// The vocabulary and labels of `--label` values and a `--labels-file`.
    static func labelSet(labels: [String], labelsFile: String?) throws -> (LabelVocabulary, [String]) {
        var vocabulary = LabelVocabulary(labels: labels)
        if let labelsFile {
            guard let data = FileManager.default.contents(atPath: labelsFile) else {
                throw ValidationError("--labels-file \(labelsFile) cannot be read; check the path")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("--labels-file \(labelsFile) is not UTF-8 text")
            }
            do {
                try vocabulary.merge(fileText: text, name: labelsFile)
            } catch let error as EnrichError {
                throw ValidationError("--labels-file: \(error)")
            }
        }
        let wanted = labels.isEmpty ? vocabulary.labels : LabelVocabulary(labels: labels).labels
        return (vocabulary, wanted)
    }
}

/// `--batch-size` (encrypt-load, rotate-keys, run).
struct BatchSizeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Documents per store read or write (default \(EncryptLoad.defaultBatchSize); in run, \(Self.runDefault)).",
            valueName: "n"))
    var batchSize: Int?

    /// `--batch-size`, or the load stage's default.
    var size: Int { batchSize ?? EncryptLoad.defaultBatchSize }

    /// `--batch-size`, or 64 in `run`: its load stage writes while the downloads go on, and the
    /// documents of the batch being written and of the next one wait in memory. A 20,000-photo
    /// run peaked at 61.4–64.2 MB with 128, 60.3–62.2 MB with 64 (2,000 photos: 56–59 MB either
    /// way; docs/pipeline-bench.md).
    var runSize: Int { batchSize ?? Self.runDefault }

    /// `run`'s default batch.
    static let runDefault = 64

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard (batchSize ?? 1) >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }
}

/// `--retry-failed` (download, extract, score, run).
struct RetryFailedOptions: ParsableArguments {
    @Flag(
        help: ArgumentHelp(
            "Also try again the photos that failed for good in earlier runs (HTTP 403/404/410, the placeholder, "
                + "not an image, Vision refusing the image); transient failures are always tried again."))
    var retryFailed = false
}

/// A size in bytes written as a number with an optional K, M or G (powers of 1024): `200M`.
struct ByteSize: ExpressibleByArgument {
    var bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        let scale = text.last.flatMap { units[$0] } ?? 1
        let digits = scale == 1 ? Substring(text) : text.dropLast()
        guard let value = Int(digits), value > 0, value <= Int.max / scale else { return nil }
        bytes = value * scale
    }

    var defaultValueDescription: String {
        bytes % (1 << 30) == 0 ? "\(bytes >> 30)G" : bytes % (1 << 20) == 0 ? "\(bytes >> 20)M" : "\(bytes)"
    }
}

/// Size caps of an import (import, run).
struct ImportLimitOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Skip files and zip entries larger than this (K, M, G suffixes).", valueName: "size"))
    var maxFileSize = ByteSize(bytes: ImportLimits().maxFileBytes)

    @Option(
        help: ArgumentHelp(
            "Stop a zip once this much has been inflated from it in all (against zip bombs).", valueName: "size"))
    var maxZipSize = ByteSize(bytes: ImportLimits().maxArchiveBytes)

    /// The caps given.
    var limits: ImportLimits { ImportLimits(maxFileBytes: maxFileSize.bytes, maxArchiveBytes: maxZipSize.bytes) }
}
