/// One stored document as its BSON bytes, walked in place without building a
/// ``StoreDocument`` tree: `audit` reads every document of a store, and building and freeing
/// the trees cost more than the checks.
///
/// The bytes are checked when the value is made (every length, terminator and type), with
/// the rules a decode to ``StoreDocument`` applies, so a document that would not decode is
/// refused here with the same error.
public struct RawDocument: Sendable {
    /// The document's BSON bytes.
    public let bytes: [UInt8]

    /// Why stored bytes are not a document photoseal stores (``damage``).
    public struct Damage: Sendable, Hashable {
        /// The field at fault, by name (`?` when the document's frame is broken).
        public var field: String
        /// `unsupported-type` (a BSON type photoseal does not store) or `damaged-bson`.
        public var kind: String
    }

    /// Set when a store handed over bytes that are not one readable document (see
    /// ``DocumentStore/allRawDocuments(batchSize:)``): `bytes` then hold only the `_id` (when
    /// it could be read), so that `audit` reports the document rather than stopping or
    /// skipping it.
    public let damage: Damage?

    /// Checks `bsonBytes` and keeps them.
    ///
    /// - Throws: ``StoreError`` `.corrupt` when the bytes are not one well-formed BSON document
    ///   or hold a type photoseal does not store.
    public init(bsonBytes: [UInt8]) throws {
        try self.init(bsonBytes, store: "bson")
    }

    /// Checks `bytes` for `store` and the document `id` (named in the error).
    init(_ bytes: [UInt8], store: String, id: String? = nil) throws(StoreError) {
        if let problem = Self.problem(bytes) {
            // The id, when it can be read, names the document in the message.
            throw problem.storeError(store: store, id: id ?? (bytes.count >= 5 ? Self.peekID(bytes) : nil))
        }
        self.bytes = bytes
        damage = nil
    }

    /// Keeps `bytes` for an audit: bytes that do not pass the checks of ``init(bsonBytes:)``
    /// give a value with ``damage`` set, holding only the `_id` (`id`, or read from the bytes).
    init(auditing bytes: [UInt8], id: String? = nil) {
        guard let problem = Self.problem(bytes) else {
            self.bytes = bytes
            damage = nil
            return
        }
        if case .unsupportedType(let key, _) = problem {
            damage = Damage(field: key, kind: "unsupported-type")
        } else {
            damage = Damage(field: "?", kind: "damaged-bson")
        }
        var body: [UInt8] = []
        if let id = id ?? (bytes.count >= 5 ? Self.peekID(bytes) : nil) {
            body = [0x02] + Array("_id\0".utf8) + Self.int32(id.utf8.count + 1) + Array(id.utf8) + [0]
        }
        self.bytes = Self.int32(body.count + 5) + body + [0]
    }

    private static func int32(_ value: Int) -> [UInt8] {
        withUnsafeBytes(of: Int32(truncatingIfNeeded: value).littleEndian, Array.init)
    }

    /// What is wrong with `bytes`, or nil when they are one document photoseal stores.
    private static func problem(_ bytes: [UInt8]) -> BSONCodecError? {
        bytes.withUnsafeBufferPointer { buffer -> BSONCodecError? in
            do throws(BSONCodecError) {
                try BSONView.check(buffer, start: 0, end: buffer.count, depth: 0)
                return nil
            } catch {
                return error
            }
        }
    }

    /// The `_id` of damaged bytes when it is the first field and a readable string.
    private static func peekID(_ bytes: [UInt8]) -> String? {
        guard bytes[4] == 0x02, bytes.count > 12, Array(bytes[5..<9]) == Array("_id\0".utf8) else { return nil }
        let length = Int(bytes[9]) | Int(bytes[10]) << 8 | Int(bytes[11]) << 16 | Int(bytes[12]) << 24
        guard length >= 1, 13 + length <= bytes.count else { return nil }
        return String(decoding: bytes[13..<(13 + length - 1)], as: UTF8.self)
    }

    /// Runs `body` with a view of the document; the view must not leave `body`.
    public func withView<Result>(_ body: (BSONView) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBufferPointer { buffer in
            try body(BSONView(buffer: buffer, start: 0, end: buffer.count))
        }
    }

    /// The document's `_id` (a string, or an ObjectId as hex), as ``StoreDocument/id``.
    public var id: String? {
        withView { view in view.field("_id").flatMap { view.text($0) } }
    }

    /// The document as a tree.
    /// - Throws: ``StoreError`` `.corrupt` (never for bytes checked by `init`).
    public func document() throws -> StoreDocument { try StoreDocument(bsonBytes: bytes) }
}

/// One field met while walking a ``BSONView``.
public struct BSONField {
    /// The field name's UTF-8 bytes (no NUL).
    public let key: UnsafeBufferPointer<UInt8>
    /// The BSON type byte (0x02 string, 0x03 document, 0x04 array, 0x0A null, ...).
    public let type: UInt8
    /// Where the value starts and ends in the buffer.
    let value: Int
    let end: Int

    /// The field name.
    public var name: String { String(decoding: key, as: UTF8.self) }

    /// Whether the field name is `name` (compared byte by byte).
    public func named(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { $0.elementsEqual(key) }
    }

    /// Whether the value is null (BSON null or undefined, both read as `.null`).
    public var isNull: Bool { type == 0x0A || type == 0x06 }
}

/// A BSON document (or array) inside checked bytes, read in place. Valid only inside the
/// closure that handed it out (``RawDocument/withView(_:)``).
public struct BSONView {
    let buffer: UnsafeBufferPointer<UInt8>
    /// The offsets of the document's length prefix and of the byte after its terminating NUL.
    let start: Int
    let end: Int

    @inline(__always)
    static func int32(_ buffer: UnsafeBufferPointer<UInt8>, _ at: Int) -> Int {
        Int(
            Int32(
                bitPattern: UInt32(buffer[at]) | UInt32(buffer[at + 1]) << 8 | UInt32(buffer[at + 2]) << 16
                    | UInt32(buffer[at + 3]) << 24))
    }

    /// The size of a value of `type` at `at` (before `end`), or nil when it does not fit or
    /// the type is not one photoseal stores.
    @inline(__always)
    static func valueSize(_ buffer: UnsafeBufferPointer<UInt8>, type: UInt8, at: Int, end: Int) -> Int? {
        switch type {
        case 0x0A, 0x06: return 0
        case 0x08: return at < end && buffer[at] <= 1 ? 1 : nil
        case 0x10: return at + 4 <= end ? 4 : nil
        case 0x01, 0x09, 0x12: return at + 8 <= end ? 8 : nil
        case 0x07: return at + 12 <= end ? 12 : nil
        case 0x02:
            guard at + 4 <= end else { return nil }
            let length = int32(buffer, at)
            guard length >= 1, length <= end - at - 4, buffer[at + 4 + length - 1] == 0 else { return nil }
            return 4 + length
        case 0x03, 0x04:
            guard at + 4 <= end else { return nil }
            let length = int32(buffer, at)
            guard length >= 5, length <= end - at, buffer[at + length - 1] == 0 else { return nil }
            return length
        default: return nil
        }
    }

    /// Checks the document at `start..<end` and everything in it, as a decode would.
    static func check(
        _ buffer: UnsafeBufferPointer<UInt8>, start: Int, end: Int, depth: Int
    ) throws(BSONCodecError) {
        guard depth < BSONCodec.maximumDepth else {
            throw .corrupt("a document nests deeper than \(BSONCodec.maximumDepth) levels")
        }
        guard end - start >= 5, int32(buffer, start) == end - start, buffer[end - 1] == 0 else {
            throw .corrupt("a document is not valid BSON")
        }
        var at = start + 4
        while at < end - 1 {
            let type = buffer[at]
            var keyEnd = at + 1
            while keyEnd < end - 1, buffer[keyEnd] != 0 { keyEnd += 1 }
            guard keyEnd < end - 1 else { throw .corrupt("a document is not valid BSON") }
            let value = keyEnd + 1
            guard let size = valueSize(buffer, type: type, at: value, end: end - 1) else {
                let key = String(decoding: UnsafeBufferPointer(rebasing: buffer[(at + 1)..<keyEnd]), as: UTF8.self)
                if [0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x10, 0x12].contains(type) {
                    throw .corrupt("field \(key) is damaged")
                }
                throw .unsupportedType(key: key, type: type)
            }
            if type == 0x03 || type == 0x04 {
                try check(buffer, start: value, end: value + size, depth: depth + 1)
            }
            at = value + size
        }
        guard at == end - 1 else { throw .corrupt("a document is not valid BSON") }
    }

    /// Calls `body` with each field in order.
    public func forEachField(_ body: (BSONField) throws -> Void) rethrows {
        var at = start + 4
        while at < end - 1 {
            let type = buffer[at]
            var keyEnd = at + 1
            while buffer[keyEnd] != 0 { keyEnd += 1 }
            let value = keyEnd + 1
            // Checked when the bytes were taken in.
            let size = Self.valueSize(buffer, type: type, at: value, end: end - 1) ?? (end - 1 - value)
            try body(
                BSONField(
                    key: UnsafeBufferPointer(rebasing: buffer[(at + 1)..<keyEnd]), type: type, value: value,
                    end: value + size))
            at = value + size
        }
    }

    /// The first field named `name`, as ``StoreDocument``'s subscript finds it.
    public func field(_ name: String) -> BSONField? {
        var found: BSONField?
        var name = name
        name.withUTF8 { wanted in
            var at = start + 4
            while at < end - 1, found == nil {
                let type = buffer[at]
                var keyEnd = at + 1
                while buffer[keyEnd] != 0 { keyEnd += 1 }
                let value = keyEnd + 1
                let size = Self.valueSize(buffer, type: type, at: value, end: end - 1) ?? (end - 1 - value)
                let key = UnsafeBufferPointer(rebasing: buffer[(at + 1)..<keyEnd])
                if key.elementsEqual(wanted) {
                    found = BSONField(key: key, type: type, value: value, end: value + size)
                }
                at = value + size
            }
        }
        return found
    }

    /// The field `name` of the document in the field `parent` (`seal`, `kid`): `seal.kid`
    /// without parsing a path; nil when either is missing or `parent` is not a document.
    public func field(_ parent: String, _ name: String) -> BSONField? {
        guard let outer = field(parent), outer.type == 0x03, let inner = child(outer) else { return nil }
        return inner.field(name)
    }

    /// The value at a dotted path (`seal.kid`, `tags.2`), as ``StoreDocument/value(at:)``
    /// finds it: nil when a step is missing or not a document or array.
    public func field(at path: String) -> BSONField? {
        var view = self
        var current: BSONField?
        for component in path.split(separator: ".", omittingEmptySubsequences: false) {
            if let field = current {
                guard let next = child(field) else { return nil }
                view = next
            }
            if current?.type == 0x04 {
                // Arrays by position (their keys are positions too, but position is what counts).
                guard let index = Int(component), index >= 0 else { return nil }
                var position = 0
                var hit: BSONField?
                view.forEachField { field in
                    if position == index { hit = field }
                    position += 1
                }
                guard let hit else { return nil }
                current = hit
            } else {
                guard let next = view.field(String(component)) else { return nil }
                current = next
            }
        }
        return current
    }

    /// The document or array a field holds, or nil for other types.
    public func child(_ field: BSONField) -> BSONView? {
        guard field.type == 0x03 || field.type == 0x04 else { return nil }
        return BSONView(buffer: buffer, start: field.value, end: field.end)
    }

    /// A string field's UTF-8 bytes (no NUL), or nil for other types.
    public func utf8(_ field: BSONField) -> UnsafeBufferPointer<UInt8>? {
        guard field.type == 0x02 else { return nil }
        return UnsafeBufferPointer(rebasing: buffer[(field.value + 4)..<(field.end - 1)])
    }

    /// A string field as text, or an ObjectId as 24 hex digits (as they are read into
    /// ``StoreValue/string(_:)``); nil for other types.
    public func text(_ field: BSONField) -> String? {
        if let bytes = utf8(field) { return String(decoding: bytes, as: UTF8.self) }
        guard field.type == 0x07 else { return nil }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(24)
        for byte in buffer[field.value..<(field.value + 12)] {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 15)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
