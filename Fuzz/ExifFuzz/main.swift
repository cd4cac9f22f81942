// libFuzzer entry for the EXIF reader; built by scripts/fuzz-exif.sh together with the
// sources in Sources/Enrich (outside SwiftPM, so `swift build` never sees it).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExif(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for name in ["fuzz.jpg", "fuzz.cr2", "fuzz.dng"] {
        let report = ExifReader.read(bytes: bytes, name: name)
        _ = report.jsonObject()
    }
    return 0
}
