/// Namespace for the `Store` module's version and shared constants.
public enum StoreModule {
    /// The pipeline version stamped on stored documents.
    public static let version = "0.1.0"
}
