import Foundation
public import HTTP

// MARK: Image store

extension Workspace {
    /// `--image-store` as the job file keeps it: `s3://BUCKET/PREFIX` without trailing `/`, or
    /// an absolute folder path; `nil` for nothing given.
    public static func imageStoreLocation(_ given: String?) -> String? {
        guard var text = given?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if S3Location.isS3(text) {
            while text.hasSuffix("/"), text.count > "s3://".count + 1 { text.removeLast() }
            return "s3://" + text.dropFirst("s3://".count)
        }
        return URL(fileURLWithPath: text).standardizedFileURL.path
    }

    /// The image store: the one `given` names (`--image-store`: `s3://BUCKET/PREFIX` or a
    /// folder), else the one the job file records, else the workdir's `images/`.
    ///
    /// A store given to a workdir that has none recorded is recorded in the job file (commands
    /// that change the workdir), so later commands and the gallery use it; a workdir that
    /// already keeps images in its own `images/` is refused a bucket (they would be split). A
    /// bucket is checked with one list call (credentials, endpoint, bucket) before anything is
    /// stored, so a wrong secret or a dead endpoint is one error and nothing is lost.
    ///
    /// - Parameters:
    ///   - given: `--image-store`, if given.
    ///   - http: The HTTP client a bucket is reached through (kept open while the store is used).
    ///   - replacing: Whether `given` may replace the recorded store (`run --update-job`).
    ///   - check: Whether a bucket is checked now (default yes).
    /// - Throws: `IngestError.job` when `given` is not the recorded store, `.configuration`
    ///   for a malformed location or missing S3 entries in the secrets file, S3 errors from the
    ///   check (naming the image store and the secrets entries to fix).
    public func imageStore(given: String? = nil, http: HTTPClient, replacing: Bool = false, check: Bool = true)
        async throws -> ImageStore
    {
        let given = Self.imageStoreLocation(given)
        let job = try self.job()
        let recorded = Self.imageStoreLocation(job?.imageStore)
        if let given, let recorded, given != recorded, !replacing {
            throw IngestError(
                .job,
                "--image-store \(given) is not this workdir's image store (\(recorded), recorded in \(jobPath)): "
                    + "run without --image-store to use it, or use another --workdir")
        }
        let location = given ?? recorded
        if let given, recorded == nil, S3Location.isS3(given), hasLocalImages {
            throw IngestError(
                .job,
                "this workdir keeps its images in \((workdir as NSString).appendingPathComponent("images")): "
                    + "--image-store \(given) would split them; use another --workdir for a bucket")
        }
        let store: ImageStore
        if let location, S3Location.isS3(location) {
            let client = try S3Client(http: http, settings: try S3Settings(secrets: secrets), logger: logger)
            let bucket = ImageBucket(client: client, location: try S3Location(parsing: location))
            if check { try await bucket.check() }
            store = ImageStore(workdir: workdir, bucket: bucket)
        } else {
            store = ImageStore(workdir: location ?? workdir)
        }
        if let given, given != recorded, options.access != .read {
            var updated = job ?? Job()
            updated.imageStore = given
            try record(job: updated)
            note("image store \(given) recorded in \(jobPath)")
        }
        return store
    }

    /// Whether the workdir's own `images/` holds any image folder.
    var hasLocalImages: Bool {
        let folder = (workdir as NSString).appendingPathComponent("images")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains { $0.utf8.count == 2 }
    }
}
