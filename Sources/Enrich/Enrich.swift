/// Namespace for the `Enrich` module's version and shared constants.
public enum EnrichModule {
    /// The pipeline version stamped on stored documents.
    public static let version = "0.1.0"
}
