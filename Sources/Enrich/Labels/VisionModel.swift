public import Foundation

/// The Google Cloud Vision `images:annotate` request and response, label detection only.
public enum Vision {
    /// At most this many images go in one `images:annotate` call.
    public static let maxImagesPerCall = 16
    /// Labels asked for per image.
    public static let maxResults = 50
    /// Public price of label detection in US dollars per 1,000 images (after the first 1,000
    /// each month, which are free).
    public static let pricePerThousandImages = 1.50

    /// The JSON body of an `images:annotate` call asking for LABEL_DETECTION only.
    /// - Parameter images: the image bytes, at most `maxImagesPerCall` of them.
    public static func requestBody(images: [[UInt8]]) -> Data {
        precondition(images.count <= maxImagesPerCall, "a Vision call takes at most 16 images")
        var body = #"{"requests":["#
        for (i, image) in images.enumerated() {
            if i > 0 { body += "," }
            body += #"{"image":{"content":""#
            body += Data(image).base64EncodedString()
            body += #""},"features":[{"type":"LABEL_DETECTION","maxResults":\#(maxResults)}]}"#
        }
        body += "]}"
        return Data(body.utf8)
    }

    /// One label the service returned.
    public struct Label: Codable, Sendable, Equatable {
        /// The Knowledge Graph id, e.g. `/m/0jbk`.
        public var mid: String?
        /// The English label, e.g. `Monkey`.
        public var description: String
        /// Confidence 0...1.
        public var score: Double
        /// How relevant the label is to the whole image, 0...1.
        public var topicality: Double?

        /// Makes a label.
        public init(mid: String?, description: String, score: Double, topicality: Double? = nil) {
            self.mid = mid
            self.description = description
            self.score = score
            self.topicality = topicality
        }
    }

    /// A per-image or whole-call error status.
    public struct Status: Codable, Sendable, Equatable {
        /// The gRPC or HTTP code.
        public var code: Int?
        /// The service's message.
        public var message: String?
        /// The status name, e.g. `INVALID_ARGUMENT`.
        public var status: String?
    }

    /// The answer for one image: labels, or an error of its own.
    public struct ImageResponse: Codable, Sendable {
        /// The labels (absent when none cleared the service's cut).
        public var labelAnnotations: [Label]?
        /// This image's own error, while its neighbours may have succeeded.
        public var error: Status?
    }

    /// The whole answer: one response per request, in order.
    public struct Response: Codable, Sendable {
        /// The per-image answers.
        public var responses: [ImageResponse]?
        /// A whole-call error.
        public var error: Status?
    }

    /// The estimated price in US dollars of labelling `images` images at the public rate,
    /// ignoring the monthly free tier (an upper bound).
    public static func estimatedCost(images: Int) -> Double {
        Double(images) * pricePerThousandImages / 1000
    }
}

/// Turns the labels the service returned for one image into `scores.<label>`.
public enum LabelScorer {
    /// For each vocabulary label, the best score among returned labels that match it.
    ///
    /// A label nothing matched is absent from the result: "not returned" is not a score of 0.
    public static func scores(_ returned: [Vision.Label], vocabulary: LabelVocabulary) -> [String: Double] {
        var result: [String: Double] = [:]
        for label in vocabulary.labels {
            for candidate in returned where vocabulary.matches(label: label, description: candidate.description) {
                result[label] = Swift.max(result[label] ?? 0, candidate.score)
            }
        }
        return result
    }
}
