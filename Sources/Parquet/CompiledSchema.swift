/// A field's repetition in the Parquet schema.
enum Repetition: Int32 {
    case required = 0
    case optional = 1
    case repeated = 2
}

/// One leaf column: its path, type and maximum levels.
struct LeafColumn {
    var path: [String]
    var type: ParquetType
    var maxDefinition: Int
    var maxRepetition: Int
}

/// A node of the physical schema (the user's fields with the LIST and MAP layouts spelled
/// out), for shredding rows.
final class SchemaNode {
    enum Shape {
        case leaf(column: Int)
        case group
        /// The annotated LIST or MAP group: its one child is the repeated group.
        case listOrMap
        /// A list's repeated group: one element per repetition.
        case listEntry
        /// A map's repeated group: a key and a value per repetition.
        case mapEntry
    }

    let path: String
    let repetition: Repetition
    let shape: Shape
    let children: [SchemaNode]
    let leafColumns: [Int]
    let maxRepetition: Int

    init(
        path: String, repetition: Repetition, shape: Shape, children: [SchemaNode], leafColumns: [Int],
        maxRepetition: Int
    ) {
        self.path = path
        self.repetition = repetition
        self.shape = shape
        self.children = children
        self.leafColumns = leafColumns
        self.maxRepetition = maxRepetition
    }
}

/// One SchemaElement of the footer, depth first.
struct SchemaElement {
    var name: String
    var repetition: Repetition?
    var type: ParquetType?
    var childCount: Int?
    var annotation: Annotation?

    enum Annotation {
        case list
        case map
    }

    func write(to out: inout ThriftCompactWriter) {
        out.beginStruct()
        if let type { out.i32(1, type.physical) }
        if let repetition { out.i32(3, repetition.rawValue) }
        out.string(4, name)
        if let childCount { out.i32(5, Int32(childCount)) }
        // The converted type too (field 6), for readers older than logical types.
        if let converted = convertedType { out.i32(6, converted) }
        if let type, type.hasLogicalType {
            out.beginStructField(10)
            type.writeLogicalType(to: &out)
            out.endStruct()
        } else if let annotation {
            out.beginStructField(10)
            out.beginStructField(annotation == .list ? 3 : 2)
            out.endStruct()
            out.endStruct()
        }
        out.endStruct()
    }

    private var convertedType: Int32? {
        switch (annotation, type) {
        case (.list, _): 3
        case (.map, _): 1
        case (_, .string): 0
        case (_, .date): 6
        case (_, .timestamp(.millis)): 9
        case (_, .timestamp(.micros)): 10
        default: nil
        }
    }
}

extension ParquetType {
    /// The physical Type id.
    var physical: Int32 {
        switch self {
        case .boolean: 0
        case .int32, .date: 1
        case .int64, .timestamp: 2
        case .double: 5
        case .string: 6
        }
    }

    var hasLogicalType: Bool {
        switch self {
        case .string, .date, .timestamp: true
        default: false
        }
    }

    /// The LogicalType union's member (inside its struct).
    func writeLogicalType(to out: inout ThriftCompactWriter) {
        switch self {
        case .string:
            out.beginStructField(1)
            out.endStruct()
        case .date:
            out.beginStructField(6)
            out.endStruct()
        case .timestamp(let unit):
            out.beginStructField(8)
            out.bool(1, true)
            out.beginStructField(2)
            out.beginStructField(unit == .millis ? 1 : 2)
            out.endStruct()
            out.endStruct()
            out.endStruct()
        default:
            break
        }
    }
}

/// The schema compiled once: the shredding tree, the leaf columns and the footer's elements.
struct CompiledSchema {
    var roots: [SchemaNode] = []
    var leaves: [LeafColumn] = []
    var elements: [SchemaElement] = []

    init(_ schema: ParquetSchema) {
        elements.append(SchemaElement(name: "schema", childCount: schema.fields.count))
        roots = schema.fields.map { compile($0, name: $0.name, parentPath: [], definition: 0, repetition: 0) }
    }

    private mutating func compile(
        _ field: ParquetField, name: String, parentPath: [String], definition: Int, repetition: Int
    ) -> SchemaNode {
        let path = parentPath + [name]
        let kind: Repetition = field.optional ? .optional : .required
        let definition = definition + (kind == .optional ? 1 : 0)
        let dotted = path.joined(separator: ".")
        switch field.kind {
        case .leaf(let type):
            elements.append(SchemaElement(name: name, repetition: kind, type: type))
            leaves.append(LeafColumn(path: path, type: type, maxDefinition: definition, maxRepetition: repetition))
            return SchemaNode(
                path: dotted, repetition: kind, shape: .leaf(column: leaves.count - 1), children: [],
                leafColumns: [leaves.count - 1], maxRepetition: repetition)
        case .group(let fields):
            elements.append(SchemaElement(name: name, repetition: kind, childCount: fields.count))
            let children = fields.map {
                compile($0, name: $0.name, parentPath: path, definition: definition, repetition: repetition)
            }
            return SchemaNode(
                path: dotted, repetition: kind, shape: .group, children: children,
                leafColumns: children.flatMap(\.leafColumns), maxRepetition: repetition)
        case .list(let element):
            elements.append(SchemaElement(name: name, repetition: kind, childCount: 1, annotation: .list))
            elements.append(SchemaElement(name: "list", repetition: .repeated, childCount: 1))
            let entryPath = path + ["list"]
            let child = compile(
                element, name: "element", parentPath: entryPath, definition: definition + 1, repetition: repetition + 1)
            let entry = SchemaNode(
                path: dotted, repetition: .repeated, shape: .listEntry, children: [child],
                leafColumns: child.leafColumns, maxRepetition: repetition + 1)
            return SchemaNode(
                path: dotted, repetition: kind, shape: .listOrMap, children: [entry], leafColumns: child.leafColumns,
                maxRepetition: repetition)
        case .map(let keyType, let value):
            elements.append(SchemaElement(name: name, repetition: kind, childCount: 1, annotation: .map))
            elements.append(SchemaElement(name: "key_value", repetition: .repeated, childCount: 2))
            let entryPath = path + ["key_value"]
            let key = compile(
                ParquetField("key", .leaf(keyType), optional: false), name: "key", parentPath: entryPath,
                definition: definition + 1, repetition: repetition + 1)
            let valueNode = compile(
                value, name: "value", parentPath: entryPath, definition: definition + 1, repetition: repetition + 1)
            let entry = SchemaNode(
                path: dotted, repetition: .repeated, shape: .mapEntry, children: [key, valueNode],
                leafColumns: key.leafColumns + valueNode.leafColumns, maxRepetition: repetition + 1)
            return SchemaNode(
                path: dotted, repetition: kind, shape: .listOrMap, children: [entry], leafColumns: entry.leafColumns,
                maxRepetition: repetition)
        }
    }
}
