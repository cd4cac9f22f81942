private import CZstd

/// A zstd compression context, reused for every page of a file.
final class ZstdCompressor {
    private let context: OpaquePointer
    private let level: Int32

    init(level: Int32) throws {
        guard let context = ZSTD_createCCtx() else {
            throw ParquetError(.compression, "zstd could not make a compression context (out of memory)")
        }
        self.context = context
        self.level = level
    }

    deinit { ZSTD_freeCCtx(context) }

    func compress(_ input: [UInt8]) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { source in
                ZSTD_compressCCtx(context, out.baseAddress, bound, source.baseAddress, input.count, level)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw ParquetError(.compression, "zstd failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeSubrange(written...)
        return output
    }
}

@available(*, unavailable)
extension ZstdCompressor: Sendable {}
