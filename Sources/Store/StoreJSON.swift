import Foundation

// JSON for export: plain JSON, not MongoDB Extended JSON. Field order is kept; `.date` becomes
// an ISO 8601 string in UTC with milliseconds ("2024-05-01T12:30:00.250Z"); `.int` a JSON
// integer; `.double` a JSON number that always shows a fraction or exponent ("2.0"), so a
// reader can tell it from an int; a non-finite double (which JSON cannot hold) becomes null.

extension StoreValue {
    /// This value as compact JSON text (plain JSON; dates as ISO 8601 UTC strings with
    /// milliseconds; non-finite doubles as `null`).
    public var jsonText: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    func appendJSON(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value):
            guard value.isFinite else {
                out += "null"
                return
            }
            // Swift's shortest round-trip form always has "." or "e" for doubles.
            out += "\(value)"
        case .string(let value): Self.appendJSONString(value, to: &out)
        case .date(let value): Self.appendJSONString(Self.iso8601(value), to: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                element.appendJSON(to: &out)
            }
            out += "]"
        case .document(let document): document.appendJSON(to: &out)
        }
    }

    static func iso8601(_ date: Date) -> String {
        let milliseconds = date.millisecondsSince1970
        let seconds = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let wholeSeconds = seconds.remainder < 0 ? seconds.quotient - 1 : seconds.quotient
        let fraction = seconds.remainder < 0 ? seconds.remainder + 1000 : seconds.remainder
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: TimeInterval(wholeSeconds)))
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))T"
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2)).\(pad(Int(fraction), 3))Z"
    }

    static func appendJSONString(_ value: String, to out: inout String) {
        // Most strings have nothing to escape: copy them whole.
        guard value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else {
            out += "\"" + value + "\""
            return
        }
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension StoreDocument {
    /// This document as one line of compact JSON, fields in order (see ``StoreValue/jsonText``).
    public var jsonText: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    func appendJSON(to out: inout String) {
        out += "{"
        for (index, field) in fields.enumerated() {
            if index > 0 { out += "," }
            StoreValue.appendJSONString(field.key, to: &out)
            out += ":"
            field.value.appendJSON(to: &out)
        }
        out += "}"
    }
}
