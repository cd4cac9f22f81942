import Foundation

/// moto's S3 server with authentication enforced, started through `scripts/moto-server.sh`
/// (as CI starts the shared one), and the keys of the one user allowed to use it.
public struct S3TestServer: Sendable {
    /// `http://127.0.0.1:<port>`.
    public let endpoint: String
    /// The user's keys and the endpoint as secrets-file entries (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `S3_ENDPOINT`).
    public let secrets: [String: String]

    /// `PHOTOSEAL_TEST_S3_ENDPOINT` and `PHOTOSEAL_TEST_S3_KEYS` when set (scripts/test.sh, CI),
    /// else one server started once for this test process (it exits with the process).
    public static func shared() async throws -> S3TestServer { try await sharedServer.value }

    /// The Python of the moto venv (it has botocore, for reference signatures).
    public static var python: String {
        let venv =
            ProcessInfo.processInfo.environment["PHOTOSEAL_MOTO_VENV"]
            ?? repositoryRoot.appendingPathComponent(".venv-moto").path
        return venv + "/bin/python"
    }

    private static let sharedServer = Task<S3TestServer, any Error> {
        let environment = ProcessInfo.processInfo.environment
        if let endpoint = environment["PHOTOSEAL_TEST_S3_ENDPOINT"], !endpoint.isEmpty,
            let keys = environment["PHOTOSEAL_TEST_S3_KEYS"], !keys.isEmpty
        {
            return try S3TestServer(endpoint: endpoint, keysFile: keys)
        }
        let pidFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("photoseal-moto-\(UUID().uuidString).pid").path
        let endpoint = try await runProcess(
            "/bin/bash",
            [
                repositoryRoot.appendingPathComponent("scripts/moto-server.sh").path, "start", "--pid-file", pidFile,
                "--watch-pid", String(ProcessInfo.processInfo.processIdentifier),
            ])
        return try S3TestServer(endpoint: endpoint, keysFile: pidFile + ".keys")
    }

    private init(endpoint: String, keysFile: String) throws {
        self.endpoint = endpoint
        let text = try String(contentsOfFile: keysFile, encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        secrets = values
    }

    /// A fresh bucket name, so tests sharing one server never see each other's objects.
    public static func randomBucket(prefix: String = "photoseal-test-") -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    }
}
