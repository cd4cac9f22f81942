import Foundation

/// exiftool (libimage-exiftool-perl), the reference reader photoseal's EXIF is checked against.
public enum Exiftool {
    /// `exiftool -j -n -G1 FILE...`: one object per file, keys `Group:Tag`, numeric values.
    /// - Throws: when exiftool is missing or its output is not a JSON array of objects.
    public static func json(_ paths: [String]) throws -> [[String: Any]] {
        let (_, output) = try runProgram(["exiftool", "-j", "-n", "-G1"] + paths)
        guard let list = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] else {
            throw PythonFixtureServer.ServerError.badAnswer("exiftool -j")
        }
        return list
    }
}
