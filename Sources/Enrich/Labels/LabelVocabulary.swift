import Foundation

/// The labels a user scores photos against, each with its synonyms, and the mapping from search
/// terms (in any language) to labels.
///
/// A labels file has one entry a line; `#` starts a comment:
///
/// ```
/// monkey: monkey, primate, macaque, old world monkey
/// cage: cage, enclosure
/// scimmia -> monkey
/// 猴子 -> monkey
/// ```
///
/// `label: synonym, ...` defines a label (the label's own name is always one of its synonyms);
/// `term -> label, ...` maps a search term to labels. Matching is by whole words, case-insensitive:
/// the synonym "net" matches the returned label "Fishing net" but never "Cabinet".
public struct LabelVocabulary: Sendable, Equatable {
    /// The labels, in the order they were first defined.
    public private(set) var labels: [String] = []
    /// Each label's synonyms as word sequences (lowercased words).
    public private(set) var synonyms: [String: [[String]]] = [:]
    /// Search terms (normalised) mapped to labels.
    public private(set) var termLabels: [String: [String]] = [:]

    /// An empty vocabulary.
    public init() {}

    /// A vocabulary of plain labels, each its own only synonym (what `--label L` gives).
    public init(labels: [String]) {
        for label in labels { add(label: label, synonyms: []) }
    }

    /// Adds a label with synonyms; adding a label again merges its synonyms.
    public mutating func add(label: String, synonyms more: [String]) {
        let name = Self.normalisedTerm(label)
        guard !name.isEmpty else { return }
        if synonyms[name] == nil {
            labels.append(name)
            synonyms[name] = [Self.words(name)]
        }
        for synonym in more {
            let w = Self.words(synonym)
            if !w.isEmpty && !(synonyms[name]?.contains(w) ?? false) { synonyms[name]?.append(w) }
        }
    }

    /// Maps a search term to labels (adding any label not defined yet).
    public mutating func map(term: String, to targets: [String]) {
        let key = Self.normalisedTerm(term)
        guard !key.isEmpty else { return }
        for target in targets {
            let label = Self.normalisedTerm(target)
            guard !label.isEmpty else { continue }
            add(label: label, synonyms: [])
            if !(termLabels[key]?.contains(label) ?? false) { termLabels[key, default: []].append(label) }
        }
    }

    /// Parses a labels file's text and merges it into this vocabulary.
    /// - Throws: `EnrichError` with code `.labelsFile` naming the file and line number of a line that is neither form.
    public mutating func merge(fileText text: String, name: String) throws {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingASCIIWhitespace()
            if trimmed.isEmpty { continue }
            if let arrow = trimmed.range(of: "->") {
                let term = String(trimmed[..<arrow.lowerBound])
                let targets = trimmed[arrow.upperBound...].split(separator: ",").map(String.init)
                guard !Self.normalisedTerm(term).isEmpty, targets.contains(where: { !Self.normalisedTerm($0).isEmpty })
                else {
                    throw EnrichError.labelsFileLine(file: name, line: index + 1)
                }
                map(term: term, to: targets)
            } else if let colon = trimmed.firstIndex(of: ":") {
                let label = String(trimmed[..<colon])
                guard !Self.normalisedTerm(label).isEmpty else {
                    throw EnrichError.labelsFileLine(file: name, line: index + 1)
                }
                add(
                    label: label,
                    synonyms: trimmed[trimmed.index(after: colon)...].split(separator: ",").map(String.init))
            } else {
                throw EnrichError.labelsFileLine(file: name, line: index + 1)
            }
        }
    }

    /// The labels a search term stands for: its mapping, else the label it names or is a
    /// synonym of, else none.
    public func labels(forTerm term: String) -> [String] {
        let key = Self.normalisedTerm(term)
        if let mapped = termLabels[key] { return mapped }
        let w = Self.words(key)
        return labels.filter { synonyms[$0]?.contains(w) ?? false }
    }

    /// Whether a returned label description matches `label` (any synonym as whole words).
    public func matches(label: String, description: String) -> Bool {
        let target = Self.words(description)
        return synonyms[label]?.contains { Self.containsRun($0, in: target) } ?? false
    }

    // MARK: Words

    /// Lowercased, trimmed, inner white space collapsed.
    static func normalisedTerm(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// The words of a text: maximal runs of letters and digits, lowercased.
    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
    }

    static func containsRun(_ needle: [String], in haystack: [String]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}

extension Substring {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
