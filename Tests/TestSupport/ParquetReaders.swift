import Foundation

/// pyarrow and DuckDB reading a Parquet file, through scripts/parquet_check.py in the venv
/// that scripts/install-deps.sh makes (`.venv-parquet`, or `PHOTOSEAL_PARQUET_VENV`).
public enum ParquetReaders {
    /// The venv's Python.
    public static var python: String {
        let venv =
            ProcessInfo.processInfo.environment["PHOTOSEAL_PARQUET_VENV"]
            ?? repositoryRoot.appendingPathComponent(".venv-parquet").path
        return venv + "/bin/python"
    }

    static var script: String { repositoryRoot.appendingPathComponent("scripts/parquet_check.py").path }

    /// What both readers read from `path` (see `parquet_check.py dump`): "pyarrow" and
    /// "duckdb" rows, "row_groups", "num_rows", "columns" (encodings and codec per column path).
    public static func dump(_ path: String) throws -> [String: Any] {
        let (status, output) = try runProgram([python, script, "dump", path])
        let text = String(decoding: output, as: UTF8.self)
        guard status == 0, let object = try JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw PythonFixtureServer.ServerError.badAnswer(
                "parquet_check.py dump exited with \(status): \(text.prefix(2000))")
        }
        return object
    }

    /// Runs `parquet_check.py compare parquet jsonl`: exit status and its message.
    public static func compare(parquet: String, jsonl: String) throws -> (status: Int32, output: String) {
        let (status, output) = try runProgram([python, script, "compare", parquet, jsonl], mergingStderr: true)
        return (status, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
