import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// One element of an S3 XML answer: its local name, text and children. S3 answers are small
/// (a list page of 1,000 keys is a few hundred KB), so a tree is simpler than a streaming walk.
struct S3XMLNode {
    var name: String
    var text = ""
    var children: [S3XMLNode] = []

    /// The first child with this name.
    func child(_ name: String) -> S3XMLNode? { children.first { $0.name == name } }
    /// Every child with this name, in order.
    func all(_ name: String) -> [S3XMLNode] { children.filter { $0.name == name } }
    /// The text of the first child with this name.
    func value(_ name: String) -> String? { child(name)?.text }

    /// Parses an XML document into its root element; `nil` when it is not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> S3XMLNode? {
        guard !bytes.isEmpty else { return nil }
        let builder = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [S3XMLNode] = []
        var root: S3XMLNode?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            stack.append(S3XMLNode(name: elementName))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            guard let node = stack.popLast() else { return }
            if stack.isEmpty {
                root = node
            } else {
                stack[stack.count - 1].children.append(node)
            }
        }
    }
}
