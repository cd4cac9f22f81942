import Foundation
public import Logging

/// Keeps every log record of a `Logger` made with `logger(label:)`, so a test can check what
/// a library logged (messages and metadata) without a terminal.
public final class LogRecorder: @unchecked Sendable {
    /// One log record, metadata rendered as text.
    public struct Record: Sendable {
        /// The level.
        public var level: Logger.Level
        /// The message.
        public var message: String
        /// The logger's and the call's metadata.
        public var metadata: [String: String]
    }

    // Guarded by `lock`: handlers are called from any thread.
    private var stored: [Record] = []
    private let lock = NSLock()

    /// Every record so far, in order.
    public var records: [Record] { lock.withLock { stored } }

    /// Makes an empty recorder.
    public init() {}

    /// A logger at `.trace` whose records go here.
    public func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(recorder: self) }
    }

    fileprivate func append(_ record: Record) { lock.withLock { stored.append(record) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append(
                Record(
                    level: event.level, message: "\(event.message)",
                    metadata: all.mapValues { "\($0)" }))
        }
    }
}
