private import CMongoc
import Foundation

/// A `bson_t` owned by Swift and freed in `deinit`. Never leaves the `Store` module.
final class BSONDocument {
    /// The `bson_t *`, opaque so that files without CMongoc can hold it.
    let handle: OpaquePointer

    /// An empty document.
    init() {
        // bson_new() only fails when malloc does, which libbson aborts on anyway.
        handle = bson_new()
    }

    /// A copy of raw BSON bytes, validated by libbson.
    init?(bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
            let created = bson_new_from_data(base, bytes.count)
        else { return nil }
        handle = created
    }

    deinit { bson_destroy(handle) }

    /// The document's bytes.
    var bytes: [UInt8] {
        let length = Int(ps_bson_len(handle))
        guard let data = bson_get_data(handle) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }
}

@available(*, unavailable)
extension BSONDocument: Sendable {}

extension BSONDocument {
    fileprivate var pointer: OpaquePointer { handle }
}

/// Heap `bson_iter_t`s, one per nesting depth, reused while decoding one document.
private final class Iterators {
    private var iterators: [OpaquePointer] = []

    subscript(depth: Int) -> OpaquePointer {
        while iterators.count <= depth { iterators.append(ps_bson_iter_new()) }
        return iterators[depth]
    }

    deinit { iterators.forEach { ps_bson_iter_free($0) } }
}

/// Builds BSON with libbson's `bson_append_*` and reads it back with `bson_iter_*`.
enum BSONCodec {
    /// Nesting deeper than this is refused (MongoDB allows 100 levels).
    static let maximumDepth = 100

    /// Encodes a document; `_id` is moved to the front, as MongoDB stores it.
    static func encode(_ document: StoreDocument) throws(BSONCodecError) -> BSONDocument {
        let bson = BSONDocument()
        var fields = document.fields
        if let idIndex = fields.firstIndex(where: { $0.key == "_id" }), idIndex != 0 {
            fields.insert(fields.remove(at: idIndex), at: 0)
        }
        try append(fields: fields, to: bson.pointer, depth: 0)
        return bson
    }

    /// Encodes a filter or update document given as (path, value) pairs; dotted keys are kept.
    static func encode(pairs: [(String, StoreValue)]) throws(BSONCodecError) -> BSONDocument {
        try encode(fieldsInOrder: pairs.map { StoreField(key: $0.0, value: $0.1) })
    }

    /// Encodes fields exactly in the given order.
    static func encode(fieldsInOrder fields: [StoreField]) throws(BSONCodecError) -> BSONDocument {
        let bson = BSONDocument()
        try append(fields: fields, to: bson.pointer, depth: 0)
        return bson
    }

    private static func append(
        fields: [StoreField], to bson: OpaquePointer, depth: Int
    ) throws(BSONCodecError) {
        for field in fields {
            guard !field.key.utf8.contains(0) else { throw .invalid("a field name contains a NUL byte") }
            try append(field.value, key: field.key, to: bson, depth: depth)
        }
    }

    private static func append(
        _ value: StoreValue, key: String, to bson: OpaquePointer, depth: Int
    ) throws(BSONCodecError) {
        guard depth < maximumDepth else { throw .invalid("documents nest deeper than \(maximumDepth) levels") }
        let ok: Bool
        switch value {
        case .null:
            ok = bson_append_null(bson, key, -1)
        case .bool(let flag):
            ok = bson_append_bool(bson, key, -1, flag)
        case .int(let number):
            // As MongoDB's drivers do: int32 when it fits, else int64. Both read back as `.int`.
            if let small = Int32(exactly: number) {
                ok = bson_append_int32(bson, key, -1, small)
            } else {
                ok = bson_append_int64(bson, key, -1, number)
            }
        case .double(let number):
            ok = bson_append_double(bson, key, -1, number)
        case .string(let text):
            var text = text
            ok = text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { chars in
                    // libbson copies `length` bytes, so the buffer need not be NUL-terminated
                    // and embedded NULs are kept.
                    guard let base = chars.baseAddress else { return bson_append_utf8(bson, key, -1, "", 0) }
                    return bson_append_utf8(bson, key, -1, base, Int32(clamping: chars.count))
                }
            }
        case .date(let date):
            ok = bson_append_date_time(bson, key, -1, date.millisecondsSince1970)
        case .array(let elements):
            let child = BSONDocument()
            for (index, element) in elements.enumerated() {
                try append(element, key: String(index), to: child.pointer, depth: depth + 1)
            }
            ok = bson_append_array(bson, key, -1, child.pointer)
        case .document(let document):
            let child = BSONDocument()
            try append(fields: document.fields, to: child.pointer, depth: depth + 1)
            ok = bson_append_document(bson, key, -1, child.pointer)
        }
        // libbson refuses an append only when the document would exceed its 2 GiB limit.
        guard ok else { throw .invalid("the document is too large for BSON") }
    }

    /// Decodes a libbson document (a `const bson_t *`) into a `StoreDocument`.
    static func decode(handle: OpaquePointer) throws(BSONCodecError) -> StoreDocument {
        let iterators = Iterators()
        guard bson_iter_init(iterators[0], handle) else { throw .corrupt("a document is not valid BSON") }
        return try decodeFields(iterators, depth: 0)
    }

    /// Decodes raw BSON bytes.
    static func decode(bytes: UnsafeRawBufferPointer) throws(BSONCodecError) -> StoreDocument {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .corrupt("an empty BSON document")
        }
        let iterators = Iterators()
        guard bson_iter_init_from_data(iterators[0], base, bytes.count) else {
            throw .corrupt("a document is not valid BSON")
        }
        return try decodeFields(iterators, depth: 0)
    }

    private static func decodeFields(_ iterators: Iterators, depth: Int) throws(BSONCodecError) -> StoreDocument {
        let iterator = iterators[depth]
        var fields: [StoreField] = []
        while bson_iter_next(iterator) {
            let key = String(cString: bson_iter_key(iterator))
            fields.append(StoreField(key: key, value: try decodeValue(iterators, depth: depth, key: key)))
        }
        return StoreDocument(fields)
    }

    private static func decodeValue(
        _ iterators: Iterators, depth: Int, key: String
    ) throws(BSONCodecError) -> StoreValue {
        guard depth < maximumDepth else { throw .corrupt("a document nests deeper than \(maximumDepth) levels") }
        let iterator = iterators[depth]
        let type = bson_iter_type(iterator)
        switch type {
        case BSON_TYPE_NULL, BSON_TYPE_UNDEFINED:
            return .null
        case BSON_TYPE_BOOL:
            return .bool(bson_iter_bool(iterator))
        case BSON_TYPE_INT64:
            return .int(bson_iter_int64(iterator))
        case BSON_TYPE_INT32:
            return .int(Int64(bson_iter_int32(iterator)))
        case BSON_TYPE_DOUBLE:
            return .double(bson_iter_double(iterator))
        case BSON_TYPE_UTF8:
            var length: UInt32 = 0
            guard let chars = bson_iter_utf8(iterator, &length) else { return .string("") }
            let buffer = UnsafeRawBufferPointer(start: chars, count: Int(length))
            return .string(String(decoding: buffer, as: UTF8.self))
        case BSON_TYPE_DATE_TIME:
            return .date(Date(millisecondsSince1970: bson_iter_date_time(iterator)))
        case BSON_TYPE_OID:
            // Documents written by other tools often have ObjectId keys; show them as hex.
            var hex = [CChar](repeating: 0, count: 25)
            bson_oid_to_string(bson_iter_oid(iterator), &hex)
            return .string(String(decoding: hex.prefix(24).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case BSON_TYPE_ARRAY, BSON_TYPE_DOCUMENT:
            guard bson_iter_recurse(iterator, iterators[depth + 1]) else {
                throw .corrupt("field \(key) is damaged")
            }
            let document = try decodeFields(iterators, depth: depth + 1)
            if type == BSON_TYPE_ARRAY { return .array(document.fields.map(\.value)) }
            return .document(document)
        default:
            throw .corrupt(
                "field \(key) has BSON type 0x\(String(type.rawValue, radix: 16)), which photoseal does not store")
        }
    }
}

/// Why a document could not be encoded or decoded; mapped to ``StoreError`` by the stores.
enum BSONCodecError: Error {
    case invalid(String)
    case corrupt(String)
    /// A field of a BSON type photoseal does not store (a corrupt document, told apart so
    /// that `audit` can name the field).
    case unsupportedType(key: String, type: UInt8)

    var message: String {
        switch self {
        case .invalid(let text), .corrupt(let text): text
        case .unsupportedType(let key, let type):
            "field \(key) has BSON type 0x\(String(type, radix: 16)), which photoseal does not store"
        }
    }

    func storeError(store: String, id: String?) -> StoreError {
        let subject = id.map { "document \($0)" } ?? "a document"
        switch self {
        case .invalid(let text):
            return StoreError(.invalidDocument, store: store, message: "\(subject) cannot be stored: \(text)")
        case .corrupt, .unsupportedType:
            return StoreError(.corrupt, store: store, message: "\(subject) cannot be read back: \(message)")
        }
    }
}

extension StoreDocument {
    /// The document's BSON bytes, exactly as both stores write it (`_id` first; ints as int32
    /// when they fit, else int64; dates as BSON dates).
    ///
    /// Lets a caller keep a document outside the store (e.g. in the staging ledger) in a form
    /// that round-trips every value exactly.
    ///
    /// - Throws: ``StoreError`` `.invalidDocument` when the document cannot be BSON (a field
    ///   name with a NUL byte, nesting deeper than 100 levels).
    public func bsonBytes() throws -> [UInt8] {
        do {
            return try BSONCodec.encode(self).bytes
        } catch {
            throw error.storeError(store: "bson", id: id)
        }
    }

    /// Reads a document from BSON bytes.
    ///
    /// - Parameter bsonBytes: One complete BSON document.
    /// - Throws: ``StoreError`` `.corrupt` when the bytes are not valid BSON or hold a type
    ///   photoseal does not store (binary, decimal128, …).
    public init(bsonBytes: [UInt8]) throws {
        let result = bsonBytes.withUnsafeBytes { raw in
            Result { () throws(BSONCodecError) in
                // Untrusted bytes: libbson checks every length, offset and string before we walk them.
                guard let copy = BSONDocument(bytes: raw) else { throw .corrupt("the bytes are not one BSON document") }
                var offset = 0
                guard bson_validate(copy.handle, BSON_VALIDATE_UTF8, &offset) else {
                    throw .corrupt("the BSON is damaged at byte \(offset)")
                }
                return try BSONCodec.decode(handle: copy.handle)
            }
        }
        switch result {
        case .success(let document): self = document
        case .failure(let error): throw error.storeError(store: "bson", id: nil)
        }
    }
}
