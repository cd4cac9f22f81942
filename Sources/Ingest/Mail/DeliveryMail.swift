public import Crypto
public import Foundation
public import HTTP

/// Mail settings from the secrets file: `SMTP_URL` (`smtp://host:587` with STARTTLS, or
/// `smtps://host`), `SMTP_USER` and `SMTP_PASSWORD` (when the server needs a login), and
/// `MAIL_FROM` (the sender address).
public struct MailSettings: Sendable {
    /// The secrets-file entries read.
    public static let secretNames = ["SMTP_URL", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM"]

    /// The client for the server.
    public let client: SMTPClient
    /// The sender address.
    public let from: String

    /// Settings from the secrets file.
    /// - Throws: `IngestError.configuration` naming the missing entry, or a bad URL or sender.
    public init(secrets: Secrets) throws {
        guard let url = secrets["SMTP_URL"], let from = secrets["MAIL_FROM"] else {
            throw IngestError(
                .configuration,
                "no mail server: set SMTP_URL (smtp://host:587 or smtps://host) and MAIL_FROM in "
                    + "\(secrets.sourceDescription) (and SMTP_USER, SMTP_PASSWORD if it needs a login)")
        }
        guard MailAddress.isValid(from) else {
            throw IngestError(.configuration, "MAIL_FROM in \(secrets.sourceDescription) is not a mail address")
        }
        do {
            client = try SMTPClient(url: url, username: secrets["SMTP_USER"], password: secrets["SMTP_PASSWORD"])
        } catch {
            throw IngestError.wrapping(error, context: "SMTP_URL in \(secrets.sourceDescription)")
        }
        self.from = from
    }
}

/// Mail addresses: a plain check, and the masked form logs and output show.
public enum MailAddress {
    /// Whether `text` looks like one mailbox `local@domain` (no spaces, angle brackets, CR or
    /// LF, which could inject SMTP commands or headers; a dot in the domain).
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), text.utf8.count <= 254
        else { return false }
        return !text.unicodeScalars.contains {
            $0.value < 0x21 || $0.value == 0x7F || "<>()[]\\,;:\"".unicodeScalars.contains($0)
        }
    }

    /// The address as logs and output show it: its first character, `***`, then the domain
    /// (`a***@example.org`).
    public static func masked(_ address: String) -> String {
        guard let at = address.lastIndex(of: "@"), at > address.startIndex else { return "***" }
        return String(address[address.startIndex]) + "***" + String(address[at...])
    }
}

/// The mail that tells someone their dataset is ready: a text and an HTML part with the
/// download link, the photo count, the size, the licences and when the link expires.
public struct DeliveryMail: Sendable {
    /// The pre-signed download link.
    public var link: String
    /// Photos in the pack.
    public var photos: Int
    /// The archive's size in bytes.
    public var bytes: Int64
    /// Photos per licence name.
    public var licenses: [String: Int]
    /// Whether authors are named in the metadata (`--attribution`).
    public var attributed: Bool
    /// When the link stops working.
    public var expires: Date

    /// Makes a mail.
    public init(
        link: String, photos: Int, bytes: Int64, licenses: [String: Int], attributed: Bool, expires: Date
    ) {
        self.link = link
        self.photos = photos
        self.bytes = bytes
        self.licenses = licenses
        self.attributed = attributed
        self.expires = expires
    }

    /// The subject line.
    public var subject: String { "Your photo dataset is ready (\(photos) photos)" }

    /// The licences, most photos first: `name: count` lines.
    var licenceLines: [String] {
        licenses.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
            "\($0.key): \($0.value)"
        }
    }

    /// The expiry time as RFC 3339 UTC.
    var expiresText: String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: expires)
    }

    /// The size in MB with one decimal.
    var sizeText: String {
        let tenths = (bytes + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10) MB (\(bytes) bytes)"
    }

    /// The plain text part.
    public var text: String {
        var text = "Your photo dataset is ready.\n\nDownload it (the link works until \(expiresText)):\n\(link)\n\n"
        text += "Photos: \(photos)\nSize: \(sizeText)\n\nLicences:\n"
        text += licenceLines.map { "  \($0)\n" }.joined()
        text += attributed ? "\nAuthors are named in metadata.csv (attribution column): credit them.\n" : ""
        text += "\nLICENSES.md in the archive gives each licence's terms.\n"
        return text
    }

    /// The HTML part.
    public var html: String {
        let escape = MarkupText.escape
        var html = "<!DOCTYPE html><html><body><p>Your photo dataset is ready.</p>"
        html += "<p><a href=\"\(escape(link))\">Download the dataset</a> (the link works until \(expiresText)).</p>"
        html += "<p>Photos: \(photos)<br>Size: \(escape(sizeText))</p><p>Licences:</p><ul>"
        html += licenceLines.map { "<li>\(escape($0))</li>" }.joined()
        html += "</ul>"
        if attributed { html += "<p>Authors are named in metadata.csv (attribution column): credit them.</p>" }
        html += "<p>LICENSES.md in the archive gives each licence's terms.</p></body></html>"
        return html
    }

    /// The whole RFC 5322 message (MIME multipart/alternative, both parts UTF-8 in base64),
    /// CRLF line ends.
    /// - Parameters:
    ///   - messageID: the unique part of the Message-ID (a delivery resends the same one).
    public func message(from: String, to: String, date: Date = Date(), messageID: String) -> [UInt8] {
        let boundary = "photoseal-" + messageID
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let domain = from.split(separator: "@").last.map(String.init) ?? "photoseal.invalid"
        func base64(_ text: String) -> String {
            Data(text.utf8).base64EncodedString(options: [
                .lineLength76Characters, .endLineWithCarriageReturn,
                .endLineWithLineFeed,
            ])
        }
        var lines = [
            "From: \(from)", "To: \(to)", "Subject: \(subject)", "Date: \(formatter.string(from: date))",
            "Message-ID: <\(messageID)@\(domain)>", "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"", "",
            "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "",
            base64(text), "--\(boundary)", "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: base64", "", base64(html), "--\(boundary)--", "",
        ]
        lines.removeLast()
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// Sends the mail to `address`.
    /// - Throws: `IngestError.configuration` for an address that is not one, and the
    ///   transport's error (naming the server, never the address).
    public func send(to address: String, settings: MailSettings, messageID: String) async throws {
        guard MailAddress.isValid(address) else {
            throw IngestError(.configuration, "\(MailAddress.masked(address)) is not a mail address")
        }
        do {
            try await settings.client.send(
                from: settings.from, to: [address],
                message: message(from: settings.from, to: address, messageID: messageID))
        } catch {
            throw IngestError.wrapping(error, context: "mailing the link to \(MailAddress.masked(address))")
        }
    }
}
