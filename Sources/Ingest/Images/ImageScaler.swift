private import CTurboJPEG
import Foundation

/// Downscaled JPEG copies of JPEG images, made with libjpeg-turbo: the gallery's thumbnails and
/// large views, and the copy the score stage can send to Vision.
///
/// Decoding uses libjpeg-turbo's scaled decoding (the IDCT makes a 1/2, 1/4 or 1/8 size image
/// directly, far faster than decoding the full image and then shrinking it), then an area
/// average brings the long side to exactly the size asked for. The copy is encoded afresh, so
/// it carries no metadata at all: no EXIF, XMP, IPTC, comment or ICC profile of the original.
public enum ImageScaler {
    /// What went wrong making a copy.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What failed, in words (no image content).
        public var description: String
    }

    /// A JPEG whose long side is at most `maxSide` pixels (an image already that small is
    /// re-encoded at its size, so the result never carries the original's metadata), turned
    /// upright by the original's EXIF Orientation.
    ///
    /// - Parameters:
    ///   - jpeg: The JPEG file's bytes.
    ///   - maxSide: The longest side allowed, in pixels (at least 16).
    ///   - quality: JPEG quality 1…100; default 82.
    /// - Returns: The new JPEG's bytes and its size.
    /// - Throws: ``Failure`` when the bytes are not a JPEG libjpeg-turbo can decode.
    public static func scaledJPEG(
        _ jpeg: [UInt8], maxSide: Int, quality: Int = 82
    ) throws -> (bytes: [UInt8], width: Int, height: Int) {
        let maxSide = max(16, maxSide)
        guard let decoder = tjInitDecompress() else { throw Failure(description: "libjpeg-turbo did not start") }
        defer { tjDestroy(decoder) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        let header = jpeg.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(
                decoder, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else { throw failure(decoder, "reading the JPEG header") }

        // The smallest libjpeg-turbo scale whose long side still reaches maxSide (or 1/1). Only
        // 1/2, 1/4 and 1/8: libjpeg-turbo's SIMD code covers those; 3/8, 5/8, … are plain C and
        // cost more than the area average that follows.
        let longSide = Int(max(width, height))
        var chosen = tjscalingfactor(num: 1, denom: 1)
        var count: Int32 = 0
        if let factors = tjGetScalingFactors(&count) {
            var best = longSide
            for index in 0..<Int(count) {
                let factor = factors[index]
                let scaled = Int(ps_tj_scaled(Int32(longSide), factor))
                guard factor.num == 1, [1, 2, 4, 8].contains(factor.denom), scaled >= min(maxSide, longSide),
                    scaled < best
                else { continue }
                best = scaled
                chosen = factor
            }
        }
        let decodedWidth = Int(ps_tj_scaled(width, chosen))
        let decodedHeight = Int(ps_tj_scaled(height, chosen))
        var pixels = [UInt8](repeating: 0, count: decodedWidth * decodedHeight * 3)
        let decoded = jpeg.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(
                    decoder, source.baseAddress, UInt(source.count), target.baseAddress, Int32(decodedWidth), 0,
                    Int32(decodedHeight), Int32(TJPF_RGB.rawValue), TJFLAG_FASTDCT)
            }
        }
        guard decoded == 0 else { throw failure(decoder, "decoding the JPEG") }

        var outWidth = decodedWidth
        var outHeight = decodedHeight
        if max(decodedWidth, decodedHeight) > maxSide {
            let ratio = Double(maxSide) / Double(max(decodedWidth, decodedHeight))
            outWidth = max(1, Int((Double(decodedWidth) * ratio).rounded()))
            outHeight = max(1, Int((Double(decodedHeight) * ratio).rounded()))
            pixels = areaAverage(pixels, width: decodedWidth, height: decodedHeight, to: outWidth, outHeight)
        }
        // The copy carries no EXIF, so the camera's Orientation is applied to the pixels.
        let orientation = exifOrientation(jpeg)
        if orientation > 1 {
            (pixels, outWidth, outHeight) = oriented(pixels, width: outWidth, height: outHeight, orientation)
        }
        return (try encode(pixels, width: outWidth, height: outHeight, quality: quality), outWidth, outHeight)
    }

    /// The EXIF Orientation (1…8) in a JPEG's APP1 segment, or 1 when there is none.
    static func exifOrientation(_ jpeg: [UInt8]) -> Int {
        var index = 2
        while index + 4 <= jpeg.count, jpeg[index] == 0xFF {
            let marker = jpeg[index + 1]
            let length = Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3])
            if marker == 0xDA || length < 2 { return 1 }
            let start = index + 4
            let end = min(jpeg.count, index + 2 + length)
            if marker == 0xE1, end - start > 14, Array(jpeg[start..<start + 6]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return tiffOrientation(jpeg[(start + 6)..<end]) ?? 1
            }
            index += 2 + length
        }
        return 1
    }

    /// Orientation (tag 0x0112) from IFD0 of a TIFF structure.
    private static func tiffOrientation(_ tiff: ArraySlice<UInt8>) -> Int? {
        let base = tiff.startIndex
        guard tiff.count >= 8 else { return nil }
        let little = tiff[base] == 0x49
        func u16(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 2 <= tiff.count else { return nil }
            let a = Int(tiff[base + offset])
            let b = Int(tiff[base + offset + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ offset: Int) -> Int? {
            guard let high = u16(little ? offset + 2 : offset), let low = u16(little ? offset : offset + 2) else {
                return nil
            }
            return high << 16 | low
        }
        guard let ifd = u32(4), let count = u16(ifd), count < 1000 else { return nil }
        for entry in 0..<count {
            let offset = ifd + 2 + entry * 12
            guard let tag = u16(offset) else { return nil }
            if tag == 0x0112, let value = u16(offset + 8), (1...8).contains(value) { return value }
        }
        return nil
    }

    /// RGB pixels turned upright for an EXIF orientation (2…8): flips, and turns by 90, 180 or
    /// 270 degrees (5…8 swap width and height).
    private static func oriented(
        _ source: [UInt8], width: Int, height: Int, _ orientation: Int
    ) -> ([UInt8], Int, Int) {
        let swaps = orientation >= 5
        let outWidth = swaps ? height : width
        let outHeight = swaps ? width : height
        var target = [UInt8](repeating: 0, count: source.count)
        source.withUnsafeBufferPointer { src in
            target.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (width - 1 - x, y)
                        case 3: (sx, sy) = (width - 1 - x, height - 1 - y)
                        case 4: (sx, sy) = (x, height - 1 - y)
                        case 5: (sx, sy) = (y, x)
                        case 6: (sx, sy) = (y, height - 1 - x)
                        case 7: (sx, sy) = (width - 1 - y, height - 1 - x)
                        default: (sx, sy) = (width - 1 - y, x)
                        }
                        let from = (sy * width + sx) * 3
                        let to = (y * outWidth + x) * 3
                        dst[to] = src[from]
                        dst[to + 1] = src[from + 1]
                        dst[to + 2] = src[from + 2]
                    }
                }
            }
        }
        return (target, outWidth, outHeight)
    }

    /// The longest side the score stage sends to Vision.
    public static let visionMaxSide = 1600

    /// The bytes to send to Vision for an image: a JPEG whose long side is over
    /// ``visionMaxSide`` becomes a copy with that long side (quality 90, no metadata), so no
    /// image is refused as too large and uploads shrink; anything else (a smaller JPEG, another
    /// format, bytes libjpeg-turbo cannot read) is returned as it is. The same input always
    /// gives the same bytes, so the labels cache keyed by the sent bytes still hits.
    public static func visionCopy(_ bytes: [UInt8]) -> [UInt8] {
        guard let size = dimensions(bytes), max(size.width, size.height) > visionMaxSide,
            let copy = try? scaledJPEG(bytes, maxSide: visionMaxSide, quality: 90)
        else { return bytes }
        return copy.bytes
    }

    /// The width and height of a JPEG from its header, or `nil` when it is not one
    /// libjpeg-turbo can read.
    public static func dimensions(_ jpeg: [UInt8]) -> (width: Int, height: Int)? {
        guard jpeg.count > 3, jpeg[0] == 0xFF, jpeg[1] == 0xD8, let decoder = tjInitDecompress() else { return nil }
        defer { tjDestroy(decoder) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        let header = jpeg.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(
                decoder, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else { return nil }
        return (Int(width), Int(height))
    }

    /// RGB pixels encoded as a baseline JPEG (4:2:0), with no metadata.
    private static func encode(_ pixels: [UInt8], width: Int, height: Int, quality: Int) throws -> [UInt8] {
        guard let encoder = tjInitCompress() else { throw Failure(description: "libjpeg-turbo did not start") }
        defer { tjDestroy(encoder) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = pixels.withUnsafeBufferPointer { source in
            tjCompress2(
                encoder, source.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &output, &size,
                Int32(TJSAMP_420.rawValue), Int32(min(100, max(1, quality))), TJFLAG_FASTDCT)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else { throw failure(encoder, "encoding the JPEG") }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    /// Shrinks RGB pixels by averaging the source area each target pixel covers (the
    /// decoder's scaling leaves at most a factor of two, so this stays cheap).
    private static func areaAverage(
        _ source: [UInt8], width: Int, height: Int, to outWidth: Int, _ outHeight: Int
    ) -> [UInt8] {
        var target = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        // Source column span of every target column, computed once.
        let columns = (0..<outWidth).map { x in
            (x * width / outWidth, max(x * width / outWidth + 1, (x + 1) * width / outWidth))
        }
        source.withUnsafeBufferPointer { src in
            target.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outHeight {
                    let y0 = y * height / outHeight
                    let y1 = max(y0 + 1, (y + 1) * height / outHeight)
                    for x in 0..<outWidth {
                        let (x0, x1) = columns[x]
                        var r = 0
                        var g = 0
                        var b = 0
                        for sy in y0..<y1 {
                            var offset = (sy * width + x0) * 3
                            for _ in x0..<x1 {
                                r += Int(src[offset])
                                g += Int(src[offset + 1])
                                b += Int(src[offset + 2])
                                offset += 3
                            }
                        }
                        let n = (y1 - y0) * (x1 - x0)
                        let out = (y * outWidth + x) * 3
                        dst[out] = UInt8(r / n)
                        dst[out + 1] = UInt8(g / n)
                        dst[out + 2] = UInt8(b / n)
                    }
                }
            }
        }
        return target
    }

    private static func failure(_ handle: tjhandle, _ what: String) -> Failure {
        let reason = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
        return Failure(description: "\(what) failed: \(reason)")
    }
}
