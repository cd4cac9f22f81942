import Foundation
import Glibc
import Testing

@testable import Ingest

/// Image files are written in their destination folder and put in place whole: no shared
/// temporary folder, no partial file under a stored name, the first copy of a content address
/// kept.
@Suite("image files: written in place, no shared tmp folder")
struct ImageFileWriteTests {
    @Test("a stored image is a private file in its own folder; no tmp/ folder and no partial file is left")
    func noSharedTemporaryFolder() throws {
        let workdir = try LoadFixture.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let images = ImageStore(workdir: workdir.path)
        let photo = try ClearImagesTests.camera("es_DSCN0010.jpg")
        let stored = try images.store(
            original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: .plain, keyring: nil)
        let path = images.absolute(stored.path)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == photo.bytes)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: workdir.appendingPathComponent("tmp").path))
        let folder = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [(path as NSString).lastPathComponent])
        #expect(images.partialFiles().isEmpty)
    }

    @Test("images/ is marked for ext4's Orlov allocator (chattr +T), its hash folders are not")
    func imagesFolderSpreadsItsFolders() throws {
        let workdir = try LoadFixture.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let images = ImageStore(workdir: workdir.path)
        for (name, mode) in [("es_DSCN0010.jpg", ImageStore.Mode.plain), ("es_DSCN0012.jpg", .stripped)] {
            let photo = try ClearImagesTests.camera(name)
            _ = try images.store(
                original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: mode, keyring: nil)
        }
        // lsattr (e2fsprogs) reads the flags itself; the test folder is on the machine's ext4 disk.
        func attributes(_ path: String) throws -> String {
            let lsattr = Process()
            lsattr.executableURL = URL(fileURLWithPath: "/usr/bin/lsattr")
            lsattr.arguments = ["-d", path]
            let output = Pipe()
            lsattr.standardOutput = output
            try lsattr.run()
            lsattr.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return String(text.prefix { $0 != " " })
        }
        let root = workdir.appendingPathComponent("images").path
        #expect(try attributes(root).contains("T"), "lsattr -d \(root)")
        let folders = try FileManager.default.contentsOfDirectory(atPath: root)
        #expect(folders.count == 2)
        for folder in folders {
            #expect(try !attributes((root as NSString).appendingPathComponent(folder)).contains("T"))
        }
    }

    @Test("creating a file where one exists keeps the first (O_EXCL semantics) and reports it")
    func existingFileKept() throws {
        let workdir = try LoadFixture.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let target = workdir.appendingPathComponent("a.jpg").path
        #expect(try AtomicFile.create([1, 2, 3], at: target))
        #expect(try !AtomicFile.create([4, 5, 6], at: target))
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))) == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: workdir.path) == ["a.jpg"])
    }

    @Test(
        "a large file (its whole blocks written with O_DIRECT, the rest buffered) has exactly its bytes, length and mode, on disk and on tmpfs",
        .tags(.unit))
    func largeFilesExact() throws {
        let workdir = try LoadFixture.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        var folders = [workdir.path]
        // tmpfs may refuse O_DIRECT (EINVAL): the buffered fallback must give the same file.
        let shm = "/dev/shm/photoseal-atomic-\(UUID().uuidString)"
        if (try? FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: false)) != nil {
            folders.append(shm)
        }
        defer { try? FileManager.default.removeItem(atPath: shm) }
        var generator = SystemRandomNumberGenerator()
        for folder in folders {
            for size in [AtomicFile.directMinimum - 1, AtomicFile.directMinimum, AtomicFile.directMinimum + 1, 200_001]
            {
                let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let target = (folder as NSString).appendingPathComponent("\(size).jpg")
                #expect(try AtomicFile.create(bytes, at: target))
                #expect(
                    [UInt8](try Data(contentsOf: URL(fileURLWithPath: target))) == bytes, "\(size) bytes in \(folder)")
                let attributes = try FileManager.default.attributesOfItem(atPath: target)
                #expect(attributes[.size] as? Int == size)
                #expect(attributes[.posixPermissions] as? Int == 0o600)
                #expect(try !AtomicFile.create([1], at: target))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 4)
        }
    }

    @Test(
        "bytes in a slice are written exactly, from an aligned address or not; a JPEG stripped for a direct write starts aligned and equals the plain strip",
        .tags(.unit))
    func slicesWrittenExactly() throws {
        let workdir = try LoadFixture.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let alignment = AtomicFile.directAlignment
        func isAligned(_ bytes: ArraySlice<UInt8>) -> Bool {
            bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) % UInt(alignment) == 0 }
        }
        var generator = SystemRandomNumberGenerator()
        let size = 200_001
        let room = (0..<(size + 2 * alignment)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let lead = room.withUnsafeBufferPointer {
            (alignment - Int(UInt(bitPattern: $0.baseAddress) % UInt(alignment))) % alignment
        }
        for (name, start) in [("aligned", lead), ("unaligned", lead + 1)] {
            let slice = room[start..<(start + size)]
            #expect(isAligned(slice) == (name == "aligned"))
            let target = workdir.appendingPathComponent("\(name).jpg").path
            #expect(try AtomicFile.create(slice, at: target))
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))) == Array(slice), "\(name)")
        }
        for name in ["es_DSCN0010.jpg", "es_sony-powershota5.jpg"] {
            let photo = try ClearImagesTests.camera(name)
            let stripped = try #require(MetadataStripper.strip(photo.bytes, format: photo.format, alignedTo: alignment))
            #expect(isAligned(stripped), "\(name)")
            #expect(Array(stripped) == MetadataStripper.strip(photo.bytes, format: photo.format), "\(name)")
        }
    }

    @Test("a partial file a killed run left next to the images is found and removed")
    func leftoversCleaned() throws {
        let workdir = try LoadFixture.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let images = ImageStore(workdir: workdir.path)
        let folder = workdir.appendingPathComponent("images/ab")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let leftover = folder.appendingPathComponent(".\(UUID().uuidString).part")
        let image = folder.appendingPathComponent("ab12.jpg")
        try Data([1]).write(to: leftover)
        try Data([2]).write(to: image)
        #expect(images.partialFiles() == [leftover.path])
        #expect(images.cleanTemporaryFiles() == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["ab12.jpg"])
    }
}
