// `Ingest` is the library the executable (and any other front end) builds on: it re-exports
// the modules whose types appear in its public API (keys and tokens, EXIF and places, store
// errors), so a front end imports `Ingest` alone and never composes the lower modules itself.
@_exported public import Crypto
@_exported public import Enrich
@_exported public import Store

/// Namespace for the `Ingest` module's version and shared constants.
public enum IngestModule {
    /// The pipeline version stamped on stored documents.
    public static let version = "0.1.0"
}
