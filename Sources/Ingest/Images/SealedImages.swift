public import Crypto
import Foundation

/// The sealed image files of an image store (`images/<xx>/<sha256>.<ext>.fernet`, each one
/// Fernet token of the original image): what `rotate-keys` re-seals, `keys retire` counts and
/// `audit` opens.
///
/// The files are found by walking `images/`, not through documents, so every sealed byte in
/// the workdir is covered: files the store and the ledger name, and files no document names
/// any more. The work is spread over the image folders (one per first hex pair of the hash):
/// up to `lanes` folders at once, one file at a time in each, so memory holds one folder
/// listing and one image per lane.
public struct SealedImages: Sendable {
    /// The image store whose sealed files these are.
    public let store: ImageStore
    /// The seal keys; the primary one re-seals.
    public let keyring: Keyring
    let lanes: Int

    /// The sealed files of `store`, opened with `keyring`.
    ///
    /// - Parameter lanes: Folders worked on at once (default: the number of cores).
    public init(store: ImageStore, keyring: Keyring, lanes: Int? = nil) {
        self.store = store
        self.keyring = keyring
        self.lanes = max(1, lanes ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// A sealed file that could not be re-sealed or failed the audit, and why (never its content).
    public struct Problem: Sendable, Hashable {
        /// The file, relative to the work directory (`images/ab/ab12….jpg.fernet`).
        public var file: String
        /// What is wrong: `does-not-open` (no key verifies it: altered, or under a key not in the
        /// keyring), `not-a-token`, `future-timestamp`, `unreadable`, `wrong-image` (it opens to
        /// bytes whose SHA-256 is not the one in its name), `unexpected-name`.
        public var kind: String
    }

    /// What re-sealing did.
    public struct Rotation: Sendable, Equatable {
        /// Files re-sealed under the primary key.
        public var resealed = 0
        /// Files already under the primary key.
        public var current = 0
        /// Files not re-sealed.
        public var failed: [Problem] = []
    }

    /// What the audit of the files found.
    public struct Check: Sendable, Equatable {
        /// Sealed files looked at.
        public var files = 0
        /// Per key id: the files it opened.
        public var kids: [String: Int] = [:]
        /// The files that do not open, or open to the wrong image.
        public var problems: [Problem] = []
    }

    // MARK: - Re-sealing

    /// What re-sealing one file did.
    package enum Resealed: Sendable, Equatable {
        case resealed, current
        /// The file went away after its folder was listed.
        case vanished
        case failed(kind: String)
    }

    /// Re-seals every sealed file whose token is not under the primary key, keeping the token's
    /// timestamp and the file's modification time; each file is replaced atomically (a new file
    /// next to it, then a rename), so a process killed at any instant leaves every file
    /// opening under the keyring, and a re-run finishes.
    ///
    /// - Parameter progress: Called after each folder with the counts so far.
    /// - Throws: `IngestError.imageStore` when a folder cannot be listed or a file cannot be
    ///   written (disk full, permissions); `.sealing` when OpenSSL fails.
    public func rotate(progress: @Sendable (Rotation) -> Void = { _ in }) async throws -> Rotation {
        store.cleanTemporaryFiles()
        var rotation = Rotation()
        @Sendable func tally(_ resealed: Resealed, _ file: String, into part: inout Rotation) {
            switch resealed {
            case .resealed: part.resealed += 1
            case .current: part.current += 1
            case .vanished: break
            case .failed(let kind): part.failed.append(Problem(file: file, kind: kind))
            }
        }
        if let bucket = store.bucket {
            // Each object is replaced by one PUT of the new token: S3 shows the old or the new
            // object whole, never a mix.
            try await bucket.eachObject(lanes: lanes, where: Self.isSealed) { file in
                var part = Rotation()
                let resealed: Resealed
                switch try resealing(try await read(file, from: bucket), file) {
                case .done(let done): resealed = done
                case .write(let bytes):
                    try await bucket.put(bytes, at: file)
                    resealed = .resealed
                }
                tally(resealed, file, into: &part)
                return part
            } merge: { part in
                rotation.resealed += part.resealed
                rotation.current += part.current
                rotation.failed += part.failed
                progress(rotation)
            }
            return rotation
        }
        try await eachFolder { files in
            var part = Rotation()
            for file in files { tally(try reseal(file), file, into: &part) }
            return part
        } merge: { part in
            rotation.resealed += part.resealed
            rotation.current += part.current
            rotation.failed += part.failed
            progress(rotation)
        }
        return rotation
    }

    /// Re-seals one file (a path relative to the work directory) if it is not under the primary key.
    /// - Throws: `IngestError.imageStore` when the new file cannot be written, `.sealing` when
    ///   OpenSSL fails while sealing.
    package func reseal(_ relative: String) throws -> Resealed {
        switch try resealing(read(relative), relative) {
        case .done(let resealed): return resealed
        case .write(let bytes): return try store.replace(relative, with: bytes[...]) ? .resealed : .vanished
        }
    }

    /// What re-sealing a file needs: nothing more (`done`), or its new bytes written.
    enum Resealing {
        case done(Resealed)
        case write([UInt8])
    }

    /// Re-seals one file's token under the primary key, in memory.
    /// - Throws: `.sealing` when OpenSSL fails while sealing.
    func resealing(_ read: Read, _ relative: String) throws -> Resealing {
        let token: String
        switch read {
        case .vanished: return .done(.vanished)
        case .unreadable: return .done(.failed(kind: "unreadable"))
        case .token(let text): token = text
        }
        let opened: Keyring.Opened
        do {
            opened = try keyring.decrypt(token)
        } catch {
            return .done(.failed(kind: Self.kind(of: error)))
        }
        if opened.kid == keyring.primary.kid { return .done(.current) }
        do {
            return .write(
                Array(try Fernet.encrypt(opened.plaintext, key: keyring.primary, timestamp: opened.timestamp).utf8))
        } catch {
            throw IngestError.wrapping(error, context: "re-sealing \(relative)")
        }
    }

    // MARK: - Counting and auditing

    /// How many sealed files verify under the key `kid` (only their HMAC is checked).
    ///
    /// - Returns: 0 when the keyring holds no key `kid`.
    /// - Throws: `IngestError.imageStore` when a folder or a file cannot be read (the count
    ///   would be wrong, and a key still in use could be retired).
    public func count(sealedBy kid: String) async throws -> Int {
        guard let key = keyring.key(kid: kid) else { return 0 }
        var count = 0
        if let bucket = store.bucket {
            try await bucket.eachObject(lanes: lanes, where: Self.isSealed) { file in
                guard case .token(let token) = try await read(file, from: bucket) else { return 0 }
                return (try? Fernet.timestamp(of: token, key: key)) != nil ? 1 : 0
            } merge: { part in
                count += part
            }
            return count
        }
        try await eachFolder { files in
            var part = 0
            for file in files {
                switch read(file) {
                case .vanished: continue
                case .unreadable:
                    throw IngestError(
                        .imageStore, "cannot read the sealed image \(file); check its permissions and run again")
                case .token(let token):
                    if (try? Fernet.timestamp(of: token, key: key)) != nil { part += 1 }
                }
            }
            return part
        } merge: { part in
            count += part
        }
        return count
    }

    /// Opens every sealed file and checks that it holds the image its name says: the SHA-256
    /// of the opened bytes must equal the hash in the file name (the documents'
    /// `image.sha256`).
    ///
    /// - Throws: `IngestError.imageStore` when a folder cannot be listed.
    public func audit() async throws -> Check {
        var check = Check()
        @Sendable func tally(_ file: String, _ found: (kid: String?, problem: String?), into part: inout Check) {
            guard found.kid != nil || found.problem != nil else { return }
            part.files += 1
            if let kid = found.kid { part.kids[kid, default: 0] += 1 }
            if let kind = found.problem { part.problems.append(Problem(file: file, kind: kind)) }
        }
        func merge(_ part: Check) {
            check.files += part.files
            check.kids.merge(part.kids, uniquingKeysWith: +)
            check.problems += part.problems
        }
        if let bucket = store.bucket {
            try await bucket.eachObject(lanes: lanes, where: Self.isSealed) { file in
                var part = Check()
                tally(file, self.check(try await read(file, from: bucket), file), into: &part)
                return part
            } merge: {
                merge($0)
            }
        } else {
            try await eachFolder { files in
                var part = Check()
                for file in files { tally(file, self.check(file), into: &part) }
                return part
            } merge: {
                merge($0)
            }
        }
        check.problems.sort { $0.file < $1.file }
        return check
    }

    /// Checks one file: the key that opened it and the problem found (both `nil`: it vanished).
    package func check(_ relative: String) -> (kid: String?, problem: String?) {
        check(read(relative), relative)
    }

    /// Checks one file's contents as read (see `check(_:)`).
    func check(_ read: Read, _ relative: String) -> (kid: String?, problem: String?) {
        let expected = Self.sha256(inName: relative)
        let token: String
        switch read {
        case .vanished: return (nil, nil)
        case .unreadable: return (nil, "unreadable")
        case .token(let text): token = text
        }
        let opened: Keyring.Opened
        do {
            opened = try keyring.decrypt(token)
        } catch {
            return (nil, Self.kind(of: error))
        }
        // Opening ignores the timestamp (no TTL), as Fernet does; a file dated ahead is still a finding.
        if opened.timestamp > Int64(Date().timeIntervalSince1970) &+ Fernet.maxClockSkew {
            return (opened.kid, "future-timestamp")
        }
        guard let expected else { return (opened.kid, "unexpected-name") }
        guard (try? SHA256.hex(of: opened.plaintext)) == expected else { return (opened.kid, "wrong-image") }
        return (opened.kid, nil)
    }

    /// The hash a sealed file's name gives (`images/ab/<sha256>.<ext>.fernet`), or `nil` when
    /// the name is not one the image store writes.
    package static func sha256(inName relative: String) -> String? {
        let parts = relative.split(separator: "/")
        guard parts.count == 3, parts[0] == "images", let dot = parts[2].firstIndex(of: ".") else { return nil }
        let hash = parts[2][..<dot]
        guard hash.utf8.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            hash.hasPrefix(parts[1])
        else { return nil }
        return String(hash)
    }

    // MARK: - Walking

    /// The image folders (`images/00` … `images/ff`), relative to the work directory, in order.
    func folders() throws -> [String] {
        let root = store.absolute("images")
        guard FileManager.default.fileExists(atPath: root) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: root)
        } catch {
            throw IngestError(.imageStore, "cannot list \(root); check its permissions")
        }
        return names.filter { $0.utf8.count == 2 }.sorted().map { "images/" + $0 }
    }

    /// The sealed files of one folder, relative to the work directory, in order.
    func files(in folder: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: store.absolute(folder), isDirectory: &isDirectory),
            isDirectory.boolValue
        else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: store.absolute(folder))
                .filter { $0.hasSuffix(".fernet") }.sorted().map { folder + "/" + $0 }
        } catch {
            throw IngestError(.imageStore, "cannot list \(store.absolute(folder)); check its permissions")
        }
    }

    /// Runs `work` on the sealed files of each folder, up to `lanes` folders at once, and hands
    /// each folder's result to `merge` (in the caller's task, so `merge` needs no lock).
    func eachFolder<Part: Sendable>(
        _ work: @escaping @Sendable ([String]) throws -> Part, merge: (Part) throws -> Void
    ) async throws {
        let folders = try folders()
        try await withThrowingTaskGroup(of: Part.self) { group in
            var next = 0
            while next < min(lanes, folders.count) {
                let folder = folders[next]
                group.addTask { try work(try files(in: folder)) }
                next += 1
            }
            while let part = try await group.next() {
                try merge(part)
                if next < folders.count {
                    let folder = folders[next]
                    group.addTask { try work(try files(in: folder)) }
                    next += 1
                }
            }
        }
    }

    /// What reading a sealed file gave.
    enum Read {
        case token(String)
        case vanished
        case unreadable
    }

    func read(_ relative: String) -> Read {
        let path = store.absolute(relative)
        guard let data = FileManager.default.contents(atPath: path) else {
            return FileManager.default.fileExists(atPath: path) ? .unreadable : .vanished
        }
        return .token(String(decoding: data, as: UTF8.self))
    }

    /// Whether a path relative to the store's root names a sealed file.
    @Sendable static func isSealed(_ relative: String) -> Bool { relative.hasSuffix(".fernet") }

    /// Reads a sealed object of a bucket (the token, or `vanished` when it is gone).
    /// - Throws: S3 errors (refused credentials, an endpoint that cannot be reached).
    func read(_ relative: String, from bucket: ImageBucket) async throws -> Read {
        guard let data = try await bucket.get(relative) else { return .vanished }
        return .token(String(decoding: data, as: UTF8.self))
    }

    /// The kind of a failure to open a token (never its content).
    static func kind(of error: any Error) -> String {
        guard let error = error as? CryptoError else { return "does-not-open" }
        switch error.code {
        case .malformedToken: return "not-a-token"
        case .futureTimestamp: return "future-timestamp"
        default: return "does-not-open"
        }
    }
}
