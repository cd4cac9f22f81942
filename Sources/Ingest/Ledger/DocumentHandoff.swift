import Foundation
import Synchronization

/// Documents one stage of a `run` has just committed, kept in memory for the next stage's
/// claim in the same process, so the claim need not decode the JSON it reads back.
///
/// A kept document is handed out only when the JSON the claim read is byte for byte the JSON
/// it was committed as: a row another process changed meanwhile, or one this process never
/// kept, is decoded as before. What is kept is bounded (`capacity` documents; beyond that,
/// documents are not kept), so memory stays flat however far the next stage lags. Only the
/// stages named in `keep(for:)` are kept: a command with no next stage keeps nothing.
final class DocumentHandoff: Sendable {
    private struct State {
        var stages: Set<Ledger.Stage> = []
        var documents: [String: (json: String, document: PhotoDocument)] = [:]
    }

    private let state = Mutex(State())
    /// The most documents kept at once.
    let capacity: Int

    /// 128 by default: the load stage, the one that takes them, claims 64 rows at a time and lags
    /// the download by a few of its batches. With 256, a long run's handoff stayed full (about
    /// 1.5 MB of documents and their JSON) while the load decoded its own copies of the rows
    /// it missed.
    init(capacity: Int = 128) { self.capacity = capacity }

    /// From now on, keeps the documents of rows committed at one of `stages`.
    func keep(for stages: Set<Ledger.Stage>) {
        state.withLock { $0.stages.formUnion(stages) }
    }

    /// Whether rows committed at `stage` are kept.
    func keeps(_ stage: Ledger.Stage) -> Bool {
        state.withLock { $0.stages.contains(stage) }
    }

    /// Keeps `document`, committed as `json` for row `id`, when there is room.
    func put(id: String, json: String, document: PhotoDocument) {
        state.withLock { state in
            guard state.documents.count < capacity || state.documents[id] != nil else { return }
            state.documents[id] = (json, document)
        }
    }

    /// The document kept for `id` if it was committed as exactly `json` (it is then no longer
    /// kept); `nil` otherwise.
    func take(id: String, json: String) -> PhotoDocument? {
        guard let kept = state.withLock({ $0.documents.removeValue(forKey: id) }) else { return nil }
        return Self.sameBytes(kept.json, json) ? kept.document : nil
    }

    /// How many documents are kept now.
    var count: Int { state.withLock { $0.documents.count } }

    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
        }
    }
}
