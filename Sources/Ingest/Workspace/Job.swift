import Foundation

/// What a workdir's job asks for, as `photoseal run` was given it: kept in `<workdir>/job.json`
/// (readable JSON) by the first `run`, so `photoseal run` with no job arguments runs it again.
///
/// Every field is optional: a `Job` built from command-line arguments holds only what was
/// given, and ``merged(with:updating:)`` fills the rest from the recorded job. No secret and no
/// personal field is ever part of a job (the store is recorded without its password).
public struct Job: Codable, Sendable, Equatable {
    /// The search, when the job searches Flickr (the options of `photoseal search`).
    public struct Search: Codable, Sendable, Equatable {
        /// `--term` values.
        public var terms: [String]?
        /// `--terms-file`.
        public var termsFile: String?
        /// `--bbox` as given.
        public var bbox: String?
        /// `--min-taken` as given.
        public var minTaken: String?
        /// `--max-taken` as given.
        public var maxTaken: String?
        /// `--limit`.
        public var limit: Int?

        /// Makes a search from the options given.
        public init(
            terms: [String]? = nil, termsFile: String? = nil, bbox: String? = nil, minTaken: String? = nil,
            maxTaken: String? = nil, limit: Int? = nil
        ) {
            self.terms = terms
            self.termsFile = termsFile
            self.bbox = bbox
            self.minTaken = minTaken
            self.maxTaken = maxTaken
            self.limit = limit
        }

        enum CodingKeys: String, CodingKey {
            case terms, bbox, limit
            case termsFile = "terms_file"
            case minTaken = "min_taken"
            case maxTaken = "max_taken"
        }
    }

    /// The job file's format version (1).
    public var version: Int? = 1
    /// The Flickr search, or `nil` for an import job.
    public var search: Search?
    /// The import source (a folder, zip or URL list), or `nil` for a search job.
    public var source: String?
    /// `--label` values.
    public var labels: [String]?
    /// `--labels-file`.
    public var labelsFile: String?
    /// `--size`: the Flickr size suffixes tried in order.
    public var sizes: String?
    /// `--store-images`: plain, stripped or sealed.
    public var storeImages: String?
    /// The store loaded into (its record's key: never a password).
    public var store: String?
    /// `--image-store`: where images are kept (`s3://BUCKET/PREFIX` or a folder; `nil`: the
    /// workdir's `images/`).
    public var imageStore: String?

    enum CodingKeys: String, CodingKey {
        case version, search, source, labels, sizes, store
        case labelsFile = "labels_file"
        case storeImages = "store_images"
        case imageStore = "image_store"
    }

    /// Makes a job from the arguments given (`nil`: not given).
    public init(
        search: Search? = nil, source: String? = nil, labels: [String]? = nil, labelsFile: String? = nil,
        sizes: String? = nil, storeImages: String? = nil, store: String? = nil, imageStore: String? = nil
    ) {
        self.search = search
        self.source = source
        self.labels = labels
        self.labelsFile = labelsFile
        self.sizes = sizes
        self.storeImages = storeImages
        self.store = store
        self.imageStore = imageStore
    }

    /// Whether no job argument is set (`photoseal run` alone).
    public var isEmpty: Bool {
        search == nil && source == nil && labels == nil && labelsFile == nil && sizes == nil && storeImages == nil
            && store == nil && imageStore == nil
    }

    /// The job these arguments ask for in a workdir whose recorded job is `self`: every field not
    /// given is taken from the recorded job.
    ///
    /// - Parameters:
    ///   - given: The job arguments given on the command line.
    ///   - updating: Whether given fields may replace recorded ones (`--update-job`).
    /// - Throws: `IngestError.job` naming every flag whose value contradicts the recorded job,
    ///   unless `updating`.
    public func merged(with given: Job, updating: Bool) throws -> Job {
        var conflicts: [String] = []
        func pick<T: Equatable>(_ recorded: T?, _ new: T?, _ flag: String) -> T? {
            guard let new else { return recorded }
            if let recorded, recorded != new, !updating { conflicts.append(flag) }
            return new
        }
        var job = self
        if !updating, given.search != nil, let source {
            conflicts.append("search options (the job imports \(source))")
        }
        if !updating, let newSource = given.source, search != nil {
            conflicts.append("the import source \(newSource) (the job searches Flickr)")
        }
        if let newSearch = given.search {
            // An import job turned into a search (--update-job) starts from the options given.
            let old = source == nil ? search : nil
            job.search = Search(
                terms: pick(old?.terms, newSearch.terms, "--term"),
                termsFile: pick(old?.termsFile, newSearch.termsFile, "--terms-file"),
                bbox: pick(old?.bbox, newSearch.bbox, "--bbox"),
                minTaken: pick(old?.minTaken, newSearch.minTaken, "--min-taken"),
                maxTaken: pick(old?.maxTaken, newSearch.maxTaken, "--max-taken"),
                limit: pick(old?.limit, newSearch.limit, "--limit"))
            job.source = nil
        } else if let newSource = given.source {
            job.source = pick(search == nil ? source : nil, newSource, "the import source")
            job.search = nil
        }
        job.labels = pick(labels, given.labels, "--label")
        job.labelsFile = pick(labelsFile, given.labelsFile, "--labels-file")
        job.sizes = pick(sizes, given.sizes, "--size")
        job.storeImages = pick(storeImages, given.storeImages, "--store-images")
        job.store = pick(store, given.store, "--store")
        job.imageStore = pick(imageStore, given.imageStore, "--image-store")
        job.version = 1
        guard conflicts.isEmpty else {
            throw IngestError(
                .job,
                "\(conflicts.joined(separator: ", ")) \(conflicts.count == 1 ? "does" : "do") not match this workdir's "
                    + "recorded job (`photoseal status` shows it): run without \(conflicts.count == 1 ? "it" : "them") to "
                    + "resume the job, add --update-job to change the job, or use another --workdir")
        }
        return job
    }

    /// Lines describing the job for `photoseal status` (no secret, no personal field).
    public var summaryLines: [String] {
        var lines: [String] = []
        if let search {
            var parts: [String] = []
            if let terms = search.terms, !terms.isEmpty { parts.append("terms \(terms.joined(separator: ", "))") }
            if let file = search.termsFile { parts.append("terms file \(file)") }
            if let bbox = search.bbox { parts.append("box \(bbox)") }
            if let min = search.minTaken { parts.append("taken from \(min)") }
            if let max = search.maxTaken { parts.append("taken until \(max)") }
            if let limit = search.limit { parts.append("limit \(limit)") }
            lines.append("search Flickr: " + (parts.isEmpty ? "(no options)" : parts.joined(separator: "; ")))
        }
        if let source { lines.append("import: \(source)") }
        var labelParts = labels ?? []
        if let labelsFile { labelParts.append("labels file \(labelsFile)") }
        lines.append("labels: " + (labelParts.isEmpty ? "none (no scoring)" : labelParts.joined(separator: ", ")))
        lines.append("sizes: \(sizes ?? "default")  images kept: \(storeImages ?? "stripped")")
        if let store { lines.append("store: \(store)") }
        if let imageStore { lines.append("image store: \(imageStore)") }
        return lines
    }
}
