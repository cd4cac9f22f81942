/// Namespace for the `Crypto` module's version and shared constants.
public enum CryptoModule {
    /// The version of the sealing format this module writes.
    public static let version = "0.1.0"
}
