/// Namespace for the `Ingest` module's version and shared constants.
public enum IngestModule {
    /// The pipeline version stamped on stored documents.
    public static let version = "0.1.0"
}
