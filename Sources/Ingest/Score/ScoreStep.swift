import Crypto
import Enrich
import Foundation
import Logging

extension ScoreStage {
    /// The score stage as the `StageRunner` runs it: batches of rows at `takes` (`extracted`,
    /// or `scored` to re-score from the cache), each batch hashed, looked up in the labels
    /// cache, and its uncached images sent in calls of at most 16.
    ///
    /// The batches of one run share a `Shared`: the images the budget still allows, and the
    /// images (by SHA-256 of the bytes sent) being labelled or labelled in this run, so two
    /// batches showing the same bytes make one call between them. Rows held back by the budget,
    /// and rows whose image failed for now, rest (leased, unchanged) until the run ends: a
    /// later run takes them.
    struct Step: PipelineStage {
        let stage: ScoreStage
        let options: Options
        let takes: Ledger.Stage
        let shared: Shared

        var name: String { "score" }

        /// Rows per batch: four full calls of 16 images when every image is new; a claim of
        /// the runner (256 rows) is a whole number of batches, so calls stay full.
        var batchSize: Int { 64 }

        /// With `retryFailed`, the images refused for good go back to `extracted` first (the
        /// first pass of a run does it for both).
        func recover(retryFailed: Bool) async throws -> StageReport {
            if retryFailed {
                try await stage.ledger.requeueFailures(of: .score, includingPermanent: true)
            }
            return StageReport()
        }

        func process(_ item: StageItem) async throws -> StepResult {
            try await process(batch: [item])[0]
        }

        /// What became of the image a group of photos shows.
        enum Outcome: Sendable {
            /// Labelled (from the cache, a document, or a call of this run); `new` when the cache
            /// does not have them yet (labels found on a document).
            case labels([Vision.Label], sent: String?, new: Bool)
            /// Not labelled; the failure is recorded on its photos.
            case failed(PhotoFailure)
            /// Left for a later run by the budget (`deferred`) or a stop.
            case resting(deferred: Bool)
        }

        func process(batch items: [StageItem]) async throws -> [StepResult] {
            // Photos by the SHA-256 of their original, in the order of the first one.
            var order: [String] = []
            var rowsOf: [String: [Int]] = [:]
            var originals: [String: String] = [:]
            for (index, item) in items.enumerated() {
                guard let sha = item.document.image?.sha256, !sha.isEmpty else { continue }
                if rowsOf[sha] == nil { order.append(sha) }
                rowsOf[sha, default: []].append(index)
                originals[item.id] = sha
            }
            // The cache is keyed by the bytes sent (a stripped copy, not the original): a photo
            // linked earlier names its entry; the others are read and hashed here.
            let links = try await stage.ledger.labelLinks(originals)
            var sentOf: [String: String] = [:]
            var sizeOf: [String: Int] = [:]
            var outcomes: [String: Outcome] = [:]
            for sha in order {
                let rows = rowsOf[sha] ?? []
                if let linked = rows.lazy.compactMap({ links[items[$0].id] }).first {
                    sentOf[sha] = linked
                    continue
                }
                guard let image = items[rows[0]].document.image else { continue }
                switch await stage.sentDigest(image) {
                case .success(let (digest, size)):
                    sentOf[sha] = digest
                    sizeOf[digest] = size
                case .failure(let refusal):
                    outcomes[sha] = .failed(ScoreStage.failure(refusal.message, permanent: false))
                }
            }
            let cache = try await stage.ledger.cachedLabels(Set(sentOf.values))
            var wanted: [String] = []
            for sha in order {
                let documents = (rowsOf[sha] ?? []).map { items[$0].document }
                if let sent = sentOf[sha], let labels = cache[sent] {
                    outcomes[sha] = .labels(labels, sent: sent, new: false)
                } else if let labels = documents.first(where: { $0.labels != nil })?.labels {
                    // Labels already on a document (a ledger whose cache was lost) count as cached.
                    outcomes[sha] = .labels(labels, sent: sentOf[sha], new: true)
                } else if outcomes[sha] == nil, let sent = sentOf[sha] {
                    if sizeOf[sent] == nil, let image = documents.first?.image {
                        // A linked image whose labels were lost was not read above: its stored size.
                        guard let size = stage.imageSize(image) else {
                            outcomes[sha] = .failed(
                                ScoreStage.failure(ScoreStage.missingMessage(image), permanent: false))
                            continue
                        }
                        sizeOf[sent] = size
                    }
                    if !wanted.contains(sent) { wanted.append(sent) }
                }
            }
            // Each wanted image is sent by this batch, waited for (another batch sends it), known
            // already (another batch labelled it), or left for a later run by the budget.
            let claims = await shared.claim(wanted)
            var send: [String] = []
            var known: [String: Outcome] = [:]
            var waits: [String] = []
            for sent in wanted {
                switch claims[sent] {
                case .send?: send.append(sent)
                case .wait?: waits.append(sent)
                case .known(let outcome)?: known[sent] = outcome
                case .deferred?, nil: known[sent] = .resting(deferred: true)
                }
            }
            var report = StageReport()
            if !send.isEmpty {
                var images: [String: PhotoDocument.Image] = [:]
                for sha in order {
                    guard let sent = sentOf[sha], images[sent] == nil, let first = rowsOf[sha]?.first else { continue }
                    images[sent] = items[first].document.image
                }
                let sent = try await self.send(send, images: images, sizes: sizeOf, report: &report)
                known.merge(sent) { a, _ in a }
            }
            for sent in waits { known[sent] = await shared.wait(sent) }
            for sha in order where outcomes[sha] == nil {
                if let sent = sentOf[sha], let outcome = known[sent] { outcomes[sha] = outcome }
            }
            if let error = await shared.error { throw error }
            return results(
                items, order: order, rowsOf: rowsOf, sentOf: sentOf, links: links, outcomes: outcomes, report: report)
        }

        /// Sends `digests` (claimed by this batch) in calls of at most 16 images, one call at a
        /// time; every digest is finished in `shared` whatever happens, so no batch waits forever.
        private func send(
            _ digests: [String], images: [String: PhotoDocument.Image], sizes: [String: Int],
            report: inout StageReport
        ) async throws -> [String: Outcome] {
            var outcomes: [String: Outcome] = [:]
            var unfinished = Set(digests)
            func finish(_ digest: String, _ outcome: Outcome) async {
                outcomes[digest] = outcome
                unfinished.remove(digest)
                await shared.finish(digest, outcome)
            }
            do {
                guard let client = stage.client else {
                    throw IngestError(.configuration, "scoring needs the Vision client; this is a bug in photoseal")
                }
                for range in VisionClient.pack(sizes: digests.map { sizes[$0] ?? 0 }) {
                    // A stop starts no new call; the images wait for a later run.
                    if options.stop?.isRequested == true || Task.isCancelled { break }
                    var batch: [(digest: String, sent: String, bytes: [UInt8])] = []
                    for digest in digests[range] {
                        guard let image = images[digest] else { continue }
                        do {
                            let bytes = try await stage.readImage(image)
                            // Keyed by what is really sent, should the file have changed since it was hashed.
                            batch.append((digest, try SHA256Digest.hex(bytes), bytes))
                        } catch {
                            await finish(digest, .failed(ScoreStage.failure("\(error)", permanent: false)))
                        }
                    }
                    guard !batch.isEmpty else { continue }
                    let results: [VisionClient.ImageResult]
                    do {
                        results = try await client.annotate(batch.map(\.bytes))
                    } catch let error as IngestError where error.code != .invalidAPIKey && error.code != .cancelled {
                        stage.logger.error("a Vision call failed", metadata: ["vision.error": "\(error)"])
                        for image in batch {
                            await finish(image.digest, .failed(ScoreStage.failure(error.message, permanent: false)))
                        }
                        continue
                    }
                    report.calls += 1
                    // Each call's answer is committed at once (the cache and the attempts): a run
                    // killed before its photos are committed still never pays for these again.
                    var paid = Ledger.ScoreUpdate()
                    paid.model = VisionClient.model
                    for (image, result) in zip(batch, results) {
                        if case .labels(let labels) = result { paid.labels[image.sent] = labels }
                    }
                    paid.apiCalls = stage.counter.take()
                    do {
                        try await stage.ledger.commit(paid)
                    } catch {
                        stage.counter.restore(paid.apiCalls)
                        throw error
                    }
                    for (image, result) in zip(batch, results) {
                        switch result {
                        case .labels(let labels):
                            report.labelled += 1
                            await finish(image.digest, .labels(labels, sent: image.sent, new: false))
                        case .failed(let message, let permanent):
                            await finish(image.digest, .failed(ScoreStage.failure(message, permanent: permanent)))
                        }
                    }
                }
            } catch {
                await shared.fail(error)
                for digest in unfinished { await shared.finish(digest, .resting(deferred: false)) }
                // The attempts of the refused call are counted still.
                var update = Ledger.ScoreUpdate()
                update.apiCalls = stage.counter.take()
                try? await stage.ledger.commit(update)
                throw error
            }
            for digest in unfinished { await finish(digest, .resting(deferred: false)) }
            return outcomes
        }

        /// The rows' results from their images' outcomes.
        private func results(
            _ items: [StageItem], order: [String], rowsOf: [String: [Int]], sentOf: [String: String],
            links: [String: String], outcomes: [String: Outcome], report: StageReport
        ) -> [StepResult] {
            let now = isoNow()
            var results = items.map { item in
                var result = StepResult(id: item.id, stage: takes, document: item.document, report: StageReport())
                result.rests = true
                return result
            }
            for sha in order {
                for index in rowsOf[sha] ?? [] {
                    let item = items[index]
                    var result = results[index]
                    if let sent = sentOf[sha], links[item.id] != sent { result.labelLink = (sha, sent) }
                    switch outcomes[sha] {
                    case .labels(let labels, let sent, let new)?:
                        if new, let sent { result.cacheLabels = (sent, labels) }
                        let next = ScoreStage.scored(
                            item.document, labels: labels, options: options, model: VisionClient.model, now: now)
                        result.document = next
                        result.stage = .scored
                        result.rests = takes == .scored
                        if next != item.document || takes != .scored { result.report.scored = 1 }
                    case .failed(let failure)?:
                        result.failure = failure
                        if failure.permanent {
                            result.stage = .failed
                            result.rests = false
                            result.report.scoreRefused = 1
                        }
                        result.report.count(failure, rowStage: result.stage)
                    case .resting(let deferred)?:
                        if deferred { result.report.deferred = 1 }
                    case nil:
                        break
                    }
                    results[index] = result
                }
            }
            if !results.isEmpty { results[0].report += report }
            return results
        }

        /// Records the batch's labels, links, scores and failures in one transaction.
        func commit(_ batch: [StepResult], ledger: Ledger) async throws -> StageReport {
            var update = Ledger.ScoreUpdate()
            update.model = VisionClient.model
            for result in batch {
                if let link = result.labelLink, let image = result.document.image {
                    update.links.append((result.id, image.sha256, link.sent))
                }
                if let entry = result.cacheLabels { update.labels[entry.sent] = entry.labels }
                if let failure = result.failure {
                    update.failures.append((result.id, failure))
                } else if result.stage == .scored, takes != .scored || result.unchangedJSON == nil {
                    update.scored.append((result.id, result.document))
                }
                if !result.rests { update.endLeases.append(result.id) }
            }
            update.apiCalls = stage.counter.take()
            do {
                try await ledger.commit(update)
            } catch {
                stage.counter.restore(update.apiCalls)
                throw error
            }
            return StageReport()
        }
    }

    /// What the batches of one scoring run share (see `Step`).
    actor Shared {
        /// What a batch does with a wanted image.
        enum Claim: Sendable {
            /// Send it (the budget allowed it; this batch finishes it).
            case send
            /// Another batch is sending it: `wait` for its outcome.
            case wait
            /// Another batch finished it.
            case known(Step.Outcome)
            /// The budget is spent: left for a later run.
            case deferred
        }

        private var budget: Int?
        private var finished: [String: Step.Outcome] = [:]
        private var waiters: [String: [CheckedContinuation<Step.Outcome, Never>]] = [:]
        private var sending = Set<String>()
        /// The error that stopped a batch (a refused key): the other batches stop too.
        private(set) var error: (any Error)?

        /// Shares `budget` images (`nil`: no limit).
        init(budget: Int?) { self.budget = budget }

        /// The claims of `digests`, in one step (the budget is taken for each `send`).
        func claim(_ digests: [String]) -> [String: Claim] {
            var claims: [String: Claim] = [:]
            for digest in digests {
                if let outcome = finished[digest] {
                    claims[digest] = .known(outcome)
                } else if sending.contains(digest) {
                    claims[digest] = .wait
                } else if let left = budget, left <= 0 {
                    claims[digest] = .deferred
                } else {
                    budget = budget.map { $0 - 1 }
                    sending.insert(digest)
                    claims[digest] = .send
                }
            }
            return claims
        }

        /// The outcome of an image another batch is sending.
        func wait(_ digest: String) async -> Step.Outcome {
            if let outcome = finished[digest] { return outcome }
            return await withCheckedContinuation { waiters[digest, default: []].append($0) }
        }

        /// Records the outcome of a sent image and wakes the batches waiting for it.
        func finish(_ digest: String, _ outcome: Step.Outcome) {
            sending.remove(digest)
            // An image left unsent (a stop) may be sent by a later batch of a later run only.
            finished[digest] = outcome
            for waiter in waiters.removeValue(forKey: digest) ?? [] { waiter.resume(returning: outcome) }
        }

        /// Records the error that stops the run.
        func fail(_ error: any Error) {
            if self.error == nil { self.error = error }
        }
    }
}
