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
        // Civil date from the day count (proleptic Gregorian, as ISO 8601 is; Howard Hinnant's
        // civil_from_days): no Calendar, which cost tens of microseconds a date.
        let milliseconds = date.millisecondsSince1970
        let (seconds, fraction) = Self.floorDivide(milliseconds, 1000)
        let (days, secondOfDay) = Self.floorDivide(seconds, 86_400)
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(fraction, 3))Z"
    }

    /// Quotient rounded down and a remainder that is never negative.
    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
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
