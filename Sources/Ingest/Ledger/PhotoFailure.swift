import Crypto
import Foundation

/// Why a photo did not get through a stage: the stage, a short cause, and whether trying
/// again can help.
///
/// Permanent failures (an image URL answering HTTP 403/404/410 or redirecting to the "photo
/// unavailable" placeholder, a body that is not an image, Vision refusing the image itself,
/// an image whose EXIF or file cannot be read or sealed) are not tried again by later runs
/// unless asked (`--retry-failed`); transient ones (5xx, 429, timeouts, resets, a Vision call
/// that kept failing, a document the seal checks refused) are tried again by the next run.
///
/// The cause never holds a personal value, an API key or a URL password: it is a fixed code
/// (`http-404`, `placeholder`) or a service's own message, cleaned by `PhotoFailure.clean`.
public struct PhotoFailure: Codable, Sendable, Hashable {
    /// The pipeline stage where a photo failed.
    public enum Stage: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
        /// Fetching the image (`photoseal download`).
        case download
        /// Reading the EXIF and the place (`photoseal extract`).
        case extract
        /// Labelling with the vision model (`photoseal score`).
        case score
        /// Checking and writing to the store (`photoseal encrypt-load`).
        case load

        /// The stage's name as stored and printed.
        public var description: String { rawValue }
    }

    /// The stage that failed.
    public var stage: Stage
    /// What went wrong, in one line of at most 200 characters.
    public var cause: String
    /// Whether later runs leave the photo alone (only `--retry-failed` tries it again).
    public var permanent: Bool

    /// Makes a failure; the cause goes through `clean`.
    public init(stage: Stage, cause: String, permanent: Bool) {
        self.init(stage: stage, cleanCause: Self.clean(cause), permanent: permanent)
    }

    /// Makes a failure from a cause that is clean already (read back from the ledger).
    init(stage: Stage, cleanCause: String, permanent: Bool) {
        self.stage = stage
        self.cause = cleanCause
        self.permanent = permanent
    }

    /// The longest cause kept, in characters.
    public static let maxCauseLength = 200

    /// A cause fit to store and print: API key query values, URL passwords and every secret
    /// photoseal holds (`SecretScrubber`, for a server echoing a key) masked, control
    /// characters (line breaks) turned into spaces, at most `maxCauseLength` characters.
    public static func clean(_ text: String) -> String {
        var out = SecretScrubber.scrub(Redaction.redact(text))
        if out.contains("@") { out = maskingUserinfo(out) }
        out = String(
            String.UnicodeScalarView(out.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        out = out.trimmingCharacters(in: .whitespaces)
        if out.count > maxCauseLength { out = String(out.prefix(maxCauseLength - 1)) + "…" }
        return out.isEmpty ? "unknown" : out
    }

    /// `scheme://user:password@host` becomes `scheme://user:***@host`, wherever it appears.
    private static func maskingUserinfo(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { "/?# \t\"'".contains($0) } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[...colon] + "***"
                rest = rest[at...]
            }
        }
        return out + rest
    }

    /// The `status` counts key (`download:http-503`, `unavailable:placeholder`): the stage, or
    /// `unavailable` for a photo its source no longer offers, then the cause.
    func countKey(rowStage: Ledger.Stage) -> String {
        (rowStage == .unavailable ? "unavailable" : stage.rawValue) + ":" + cause
    }
}

/// A photo with a recorded failure, as `photoseal status --failures` lists it.
///
/// JSON: `{"id": "flickr:1", "status": "failed", "failure": {"stage", "cause", "permanent"}}`.
public struct FailedPhoto: Codable, Sendable, Equatable {
    /// The document id.
    public var id: String
    /// The row's ledger stage (`failed`, `unavailable`, or the stage it waits at to be tried again).
    public var status: String
    /// The failure.
    public var failure: PhotoFailure

    /// Makes an entry.
    public init(id: String, status: String, failure: PhotoFailure) {
        self.id = id
        self.status = status
        self.failure = failure
    }

    /// One line for people: `flickr:1 (score, permanent): Vision refused this image: …`.
    public var line: String {
        "\(id) (\(failure.stage), \(failure.permanent ? "permanent" : "transient")): \(failure.cause)"
    }
}

/// The failures one command recorded, for the lines it prints at the end.
public struct FailureReport: Sendable, Equatable {
    /// Photos whose failure was recorded since the command started.
    public var total: Int
    /// Of those, permanent ones.
    public var permanent: Int
    /// The first of them in id order (at most the limit asked for).
    public var listed: [FailedPhoto]
    /// Photos with a permanent failure recorded before the command started, left alone by it.
    public var earlierPermanent: Int

    /// Makes a report.
    public init(total: Int, permanent: Int, listed: [FailedPhoto], earlierPermanent: Int) {
        self.total = total
        self.permanent = permanent
        self.listed = listed
        self.earlierPermanent = earlierPermanent
    }

    /// The summary lines: this command's failures (the listed ones, then "… and N more"),
    /// the earlier permanent failures left alone, and the command that lists them all.
    /// - Parameter listCommand: the command line that lists every failure
    ///   (`photoseal status --failures`, with the workdir when it is not the default).
    /// - Returns: no lines when nothing failed, ever.
    public func lines(listCommand: String) -> [String] {
        var lines: [String] = []
        if total > 0 {
            lines.append(
                "failures recorded in this run: \(total) (\(permanent) permanent, \(total - permanent) transient):")
            lines += listed.map { "  " + $0.line }
            if total > listed.count { lines.append("  … and \(total - listed.count) more") }
        }
        if earlierPermanent > 0 {
            lines.append(
                "\(earlierPermanent) photos failed for good in earlier runs and were not tried again "
                    + "(--retry-failed tries them)")
        }
        if !lines.isEmpty { lines.append("list every failure with `\(listCommand)`") }
        return lines
    }
}
