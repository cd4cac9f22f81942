public import Crypto
public import Enrich
import Foundation
public import Logging

/// The extract stage: for each row at `downloaded`, makes sure the EXIF is sealed into the
/// document (reading it from the stored image when the download did not), takes the position
/// from the EXIF GPS when the source gave none (`geo.source = "exif"`), looks up the nearest
/// place with the offline geocoder, and moves the row to `extracted`.
public final class ExtractStage: PipelineStage {
    /// Counts for the summary (`extracted`, `withExif`, `geoFromExif`, `placed`, `failed`).
    public typealias Progress = StageReport

    let ledger: Ledger
    let store: ImageStore
    let sealer: FieldSealer
    let geocoder: Geocoder
    let logger: Logger

    /// Makes the stage; load the geocoder once (`Geocoder.bundled()`) and share it.
    public init(ledger: Ledger, store: ImageStore, sealer: FieldSealer, geocoder: Geocoder, logger: Logger) {
        self.ledger = ledger
        self.store = store
        self.sealer = sealer
        self.geocoder = geocoder
        self.logger = logger
    }

    /// Runs until no row is left at `downloaded`, or until `stop` is requested, through the
    /// `StageRunner` (one photo per core in flight).
    /// - Parameter retryFailed: first queue again the rows whose extraction failed in an
    ///   earlier run (`--retry-failed`).
    /// - Throws: `IngestError.ledger` when the ledger fails.
    public func run(
        stop: StopSignal? = nil, retryFailed: Bool = false, progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> Progress {
        var options = StageRunner.Options(concurrency: ProcessInfo.processInfo.activeProcessorCount, stop: stop)
        options.retryFailed = retryFailed
        return try await StageRunner(ledger: ledger).run(self, options: options, progress: progress)
    }

    /// `extract`.
    public var name: String { "extract" }
    /// Rows at `downloaded`.
    public var takes: Ledger.Stage { .downloaded }

    /// With `retryFailed`, queues again the rows whose extraction failed (the same file gives
    /// the same result, so only an explicit retry tries them again).
    public func recover(retryFailed: Bool) async throws -> StageReport {
        if retryFailed { try await ledger.requeueFailures(of: .extract, includingPermanent: true) }
        return StageReport()
    }

    /// Extracts one photo: from what the download step carried when it comes straight from
    /// it, else from the stored image. A failure leaves the row at `failed` for good.
    public func process(_ item: StageItem) async throws -> StepResult {
        var report = StageReport()
        do {
            let (document, fromExif) =
                if let carried = item.carried {
                    extract(item.document, freshGPS: carried.gps)
                } else {
                    try extract(item.document)
                }
            report.extracted = 1
            if document.sealed.exif != nil { report.withExif = 1 }
            if fromExif { report.geoFromExif = 1 }
            if document.place != nil { report.placed = 1 }
            return StepResult(id: item.id, stage: .extracted, document: document, report: report)
        } catch {
            logger.error("extracting failed", metadata: ["extract.id": "\(item.id)", "extract.error": "\(error)"])
            let failure = PhotoFailure(stage: .extract, cause: Self.cause(error), permanent: true)
            // Counted, not listed by cause: the cause is a whole message (`status --failures` lists it).
            report.failed = 1
            return StepResult(id: item.id, stage: .failed, document: item.document, failure: failure, report: report)
        }
    }

    /// The failure's cause: the error's message (image store and sealing messages name the
    /// stored file by its hash and never a secret).
    static func cause(_ error: any Error) -> String {
        IngestError.wrapping(error, context: "extracting").message
    }

    /// The extract stage's work for a document whose image was just read (the download stage
    /// calls this while it has the original): `gps` is that image's EXIF GPS, or nil when it
    /// has none, so the sealed EXIF need not be opened again. Also returns whether the position
    /// came from EXIF.
    public func extract(_ input: PhotoDocument, freshGPS gps: ExifGPS?) -> (PhotoDocument, Bool) {
        var document = input
        var fromExif = false
        if document.geo == nil, let gps, Self.isValidPosition(lat: gps.latitude, lon: gps.longitude) {
            document.geo = PhotoDocument.Geo(lat: gps.latitude, lon: gps.longitude, accuracy: nil, source: "exif")
            fromExif = true
        }
        return (place(document), fromExif)
    }

    /// The document with EXIF, position and place filled in; also whether the position came
    /// from EXIF.
    public func extract(_ input: PhotoDocument) throws -> (PhotoDocument, Bool) {
        var document = input
        // An image in a bucket had its EXIF read when it was stored (by this version: buckets
        // are new to it), so no object is fetched again for an image without EXIF.
        if document.sealed.exif == nil, let image = document.image, !store.isRemote {
            let bytes = try store.bytes(for: image, keyring: sealer.keyring)
            _ = try ImageIngestor.sealExif(
                of: bytes, kind: image.format ?? "jpg", sealer: sealer, into: &document)
        }
        var fromExif = false
        if document.geo == nil, let token = document.sealed.exif, let gps = try exifGPS(token, id: document.id) {
            document.geo = PhotoDocument.Geo(lat: gps.lat, lon: gps.lon, accuracy: nil, source: "exif")
            fromExif = true
        }
        return (place(document), fromExif)
    }

    /// The document with the place nearest its position (unchanged when it has none).
    func place(_ input: PhotoDocument) -> PhotoDocument {
        var document = input
        if let geo = document.geo, let place = try? geocoder.nearest(lat: geo.lat, lon: geo.lon) {
            var found = PhotoDocument.Place()
            found.cc = place.countryCode
            found.country = place.countryName
            found.admin1 = place.admin1
            found.admin2 = place.admin2
            found.city = place.city
            found.distanceKm = (place.distanceKm * 1000).rounded() / 1000
            document.place = found
        }
        return document
    }

    /// Whether an EXIF position is usable: finite, in range, and not the (0, 0) cameras write
    /// when they have no fix.
    static func isValidPosition(lat: Double, lon: Double) -> Bool {
        lat.isFinite && lon.isFinite && (-90...90).contains(lat) && (-180...180).contains(lon) && (lat != 0 || lon != 0)
    }

    /// The GPS position inside a sealed EXIF object, when it has a valid one.
    func exifGPS(_ token: String, id: String) throws -> (lat: Double, lon: Double)? {
        let opened: [UInt8]
        do {
            opened = try sealer.open(token, documentID: id, field: PhotoDocument.SealedField.exif).bytes
        } catch {
            throw IngestError.wrapping(error, context: "opening the EXIF of \(id)")
        }
        // JSONDecoder reads the numbers exactly as written (shortest round-trip form), so the
        // position is the same double the download stage takes straight from the EXIF reader.
        guard let object = try? JSONDecoder().decode(SealedExifGPS.self, from: Data(opened)),
            let lat = object.gps?.lat, let lon = object.gps?.lon, Self.isValidPosition(lat: lat, lon: lon)
        else { return nil }
        return (lat, lon)
    }

    /// The part of a sealed EXIF object the stage reads.
    private struct SealedExifGPS: Decodable {
        struct Position: Decodable {
            var lat: Double?
            var lon: Double?
        }
        var gps: Position?
    }
}
