import Foundation
import Ingest
import Serve
import Store
import TestSupport
import Testing

/// Whether JPEG bytes hold an APP1 (EXIF/XMP), APP13 (IPTC) or COM segment before the image data.
func hasMetadata(_ jpeg: [UInt8]) -> Bool {
    var index = 2
    while index + 4 <= jpeg.count, jpeg[index] == 0xFF {
        let marker = jpeg[index + 1]
        if marker == 0xDA { return false }
        if marker == 0xE1 || marker == 0xED || marker == 0xFE { return true }
        index += 2 + Int(jpeg[index + 2]) << 8 + Int(jpeg[index + 3])
    }
    return false
}

/// The width and height in a JPEG's SOF0/SOF2 segment.
func jpegSize(_ jpeg: [UInt8]) -> (width: Int, height: Int)? {
    var index = 2
    while index + 9 <= jpeg.count, jpeg[index] == 0xFF {
        let marker = jpeg[index + 1]
        if marker == 0xC0 || marker == 0xC2 {
            return (Int(jpeg[index + 7]) << 8 + Int(jpeg[index + 8]), Int(jpeg[index + 5]) << 8 + Int(jpeg[index + 6]))
        }
        index += 2 + Int(jpeg[index + 2]) << 8 + Int(jpeg[index + 3])
    }
    return nil
}

@Suite("Thumbnails")
struct ThumbnailTests {
    @Test("a scaled copy fits the size, keeps the aspect ratio and carries no metadata")
    func scaledCopy() throws {
        let original = [UInt8](try Data(contentsOf: fixtureImages.appendingPathComponent("es_DSCN0010.jpg")))
        #expect(hasMetadata(original))
        let source = try #require(jpegSize(original))
        for side in [64, 320, 1600] {
            let copy = try ImageScaler.scaledJPEG(original, maxSide: side)
            let size = try #require(jpegSize(copy.bytes))
            #expect(size.width == copy.width && size.height == copy.height)
            #expect(max(size.width, size.height) == min(side, max(source.width, source.height)))
            let ratio = Double(source.width) / Double(source.height)
            #expect(abs(Double(size.width) / Double(size.height) - ratio) < 0.05)
            #expect(!hasMetadata(copy.bytes))
        }
        #expect(throws: ImageScaler.Failure.self) { try ImageScaler.scaledJPEG(Array("not a jpeg".utf8), maxSide: 100) }
    }

    @Test("thumbnails of clear images are cached once by content hash, 0600, without metadata")
    func cachedOnDisk() async throws {
        try await withFixture(.embedded, mode: .stripped) { fixture in
            let gallery = try await fixture.gallery()
            let response = await gallery.respond(to: GalleryRequest(target: "/thumb?id=flickr:1"))
            #expect(response.status == 200)
            #expect(!hasMetadata(response.body))
            #expect((jpegSize(response.body).map { max($0.width, $0.height) }) == 320)
            let thumbs = (fixture.workdir as NSString).appendingPathComponent("thumbs")
            let files = try FileManager.default.subpathsOfDirectory(atPath: thumbs).filter { $0.hasSuffix(".jpg") }
            #expect(files.count == 1)
            let path = (thumbs as NSString).appendingPathComponent(files[0])
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0)
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == response.body)
            let again = await gallery.respond(to: GalleryRequest(target: "/thumb?id=flickr:1"))
            #expect(again.body == response.body)
            let png = await gallery.respond(to: GalleryRequest(target: "/thumb?id=flickr:8"))
            #expect(png.status == 404)
        }
    }

    @Test("in sealed image mode thumbnails and large views are made in memory: nothing is written")
    func sealedInMemory() async throws {
        try await withFixture(.embedded, mode: .sealed) { fixture in
            let gallery = try await fixture.gallery(memoryOnly: true)
            let before = Set(try FileManager.default.subpathsOfDirectory(atPath: fixture.workdir))
            for target in ["/thumb?id=flickr:1", "/large?id=flickr:2", "/thumb?id=flickr:1"] {
                let response = await gallery.respond(to: GalleryRequest(target: target))
                #expect(response.status == 200, "\(target)")
                #expect(!hasMetadata(response.body))
            }
            let after = Set(try FileManager.default.subpathsOfDirectory(atPath: fixture.workdir))
            #expect(after == before)
        }
    }

    @Test("a sealed image is never cached on disk even when a cache folder is given")
    func sealedNotCached() async throws {
        try await withFixture(.embedded, mode: .sealed) { fixture in
            let gallery = try await fixture.gallery(memoryOnly: false)
            let response = await gallery.respond(to: GalleryRequest(target: "/thumb?id=flickr:3"))
            #expect(response.status == 200)
            let thumbs = (fixture.workdir as NSString).appendingPathComponent("thumbs")
            #expect(!FileManager.default.fileExists(atPath: thumbs))
        }
    }
}

@Suite("Vision copies")
struct VisionCopyTests {
    @Test("a JPEG longer than 1600 px is sent as a 1600 px copy without metadata; others are sent as they are")
    func visionCopy() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ps-vision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = folder.appendingPathComponent("big.jpg").path
        // Pillow makes a 2400x1800 camera-like JPEG with an EXIF block.
        let script = """
            import sys
            from PIL import Image
            image = Image.open(sys.argv[1]).resize((2400, 1800))
            exif = Image.Exif(); exif[0x010F] = "NIKON"
            image.save(sys.argv[2], quality=85, exif=exif)
            """
        let made = try runProgram([
            "python3", "-c", script, fixtureImages.appendingPathComponent("es_DSCN0010.jpg").path, big,
        ])
        #expect(made.status == 0)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: big)))
        #expect(ImageScaler.dimensions(original)?.width == 2400)
        let copy = ImageScaler.visionCopy(original)
        #expect(jpegSize(copy).map { [$0.width, $0.height] } == [1600, 1200])
        #expect(!hasMetadata(copy) && hasMetadata(original))
        #expect(copy.count < original.count)
        #expect(ImageScaler.visionCopy(original) == copy)
        // A camera held upright writes Orientation 6: the copy (no EXIF) is turned instead.
        let turned = folder.appendingPathComponent("turned.jpg").path
        let rotate = """
            import sys
            from PIL import Image
            image = Image.open(sys.argv[1]).resize((2400, 1800))
            exif = Image.Exif(); exif[0x0112] = 6
            image.save(sys.argv[2], quality=85, exif=exif)
            """
        let source = fixtureImages.appendingPathComponent("es_DSCN0010.jpg").path
        #expect(try runProgram(["python3", "-c", rotate, source, turned]).status == 0)
        let upright = ImageScaler.visionCopy([UInt8](try Data(contentsOf: URL(fileURLWithPath: turned))))
        #expect(jpegSize(upright).map { [$0.width, $0.height] } == [1200, 1600])
        // Turned the way Pillow's exif_transpose turns it (the wrong way would differ a lot).
        let copyPath = folder.appendingPathComponent("upright.jpg").path
        try Data(upright).write(to: URL(fileURLWithPath: copyPath))
        let compare = """
            import sys
            from PIL import Image, ImageChops, ImageOps, ImageStat
            want = ImageOps.exif_transpose(Image.open(sys.argv[1])).convert("RGB").resize((1200, 1600))
            got = Image.open(sys.argv[2]).convert("RGB")
            print(sum(ImageStat.Stat(ImageChops.difference(want, got)).mean) / 3)
            """
        let (status, output) = try runProgram(["python3", "-c", compare, turned, copyPath])
        #expect(status == 0)
        let difference = Double(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect((difference ?? 255) < 12, "mean difference \(difference ?? -1)")
        let thumb = try ImageScaler.scaledJPEG(
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: turned))), maxSide: 320)
        #expect(thumb.width == 240 && thumb.height == 320)
        let small = [UInt8](try Data(contentsOf: fixtureImages.appendingPathComponent("es_DSCN0012.jpg")))
        #expect(ImageScaler.visionCopy(small) == small)
        let png = [UInt8](try Data(contentsOf: fixtureImages.appendingPathComponent("et_PNG.png")))
        #expect(ImageScaler.visionCopy(png) == png)
    }
}
