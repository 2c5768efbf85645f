import CZlib

/// Streams the decompressed bytes of a gzip stream read from another source.
///
/// Concatenated gzip members are accepted and decompressed one after the other,
/// as `gzip -d` does. Anything after a member that is not another valid member
/// (trailing garbage, a cut-short member) is a `corruptGzip` error, as is a bad
/// CRC or length in a member's trailer.
final class IDXGzipBytes: IDXByteSource {
    private let input: IDXByteSource
    // zlib keeps a pointer back to its z_stream, so the stream must not move.
    private let stream: UnsafeMutablePointer<z_stream>
    private let inputBuffer: UnsafeMutableRawBufferPointer
    private var inputEnded = false
    private var finished = false

    init(input: IDXByteSource) throws(IDXError.Kind) {
        self.input = input
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        inputBuffer = .allocate(byteCount: 1 << 18, alignment: 16)
        // windowBits 15 + 16: a gzip wrapper (header and CRC-32 trailer), 32 KiB window.
        let status = inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            inputBuffer.deallocate()
            throw .corruptGzip("zlib cannot start decompressing (status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        inputBuffer.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IDXError.Kind) -> Int {
        guard !finished, let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let capacity = min(buffer.count, Int(UInt32.max))
        stream.pointee.next_out = base.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(capacity)
        while stream.pointee.avail_out > 0 {
            try refillIfEmpty()
            let status = inflate(stream, Z_NO_FLUSH)
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                // One member is complete and its CRC checked; another may follow.
                try refillIfEmpty()
                if stream.pointee.avail_in == 0 {
                    finished = true
                    return capacity - Int(stream.pointee.avail_out)
                }
                inflateReset(stream)
            case Z_BUF_ERROR:
                // No progress possible with output space left: the input has run out.
                throw .corruptGzip("unexpected end of compressed data: the gzip stream is cut short")
            default:
                throw .corruptGzip(zlibMessage(status))
            }
        }
        return capacity
    }

    private func refillIfEmpty() throws(IDXError.Kind) {
        guard stream.pointee.avail_in == 0, !inputEnded else { return }
        let n = try input.read(into: inputBuffer)
        if n == 0 {
            inputEnded = true
        } else {
            stream.pointee.next_in = inputBuffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(n)
        }
    }

    private func zlibMessage(_ status: Int32) -> String {
        if let message = stream.pointee.msg { return String(cString: message) }
        return "zlib status \(status)"
    }
}

/// Gzip compression for the IDX writer.
enum IDXGzip {
    /// Compresses `bytes` into one gzip member (deflate, default level, windowBits 15 + 16).
    /// Fails, naming `path`, only if zlib cannot get memory.
    static func compress(_ bytes: [UInt8], for path: String) throws(OutputFileError) -> [UInt8] {
        // zlib keeps a pointer back to its z_stream, so the stream must not move.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        let status = deflateInit2_(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                                   Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw OutputFileError(path: path, reason: "zlib cannot start gzip compression (status \(status))")
        }
        defer { deflateEnd(stream) }
        var output = [UInt8]()
        output.reserveCapacity(bytes.count / 2 + 64)
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var failure: Int32?
        bytes.withUnsafeBytes { input in
            var offset = 0
            var flush = Z_NO_FLUSH
            repeat {
                let n = min(input.count - offset, 1 << 30)
                stream.pointee.next_in = UnsafeMutablePointer(
                    mutating: input.baseAddress?.advanced(by: offset).assumingMemoryBound(to: Bytef.self))
                stream.pointee.avail_in = uInt(n)
                offset += n
                flush = offset == input.count ? Z_FINISH : Z_NO_FLUSH
                repeat {
                    let produced = chunk.withUnsafeMutableBytes { out in
                        stream.pointee.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                        stream.pointee.avail_out = uInt(out.count)
                        let result = deflate(stream, flush)
                        if result == Z_STREAM_ERROR { failure = result }
                        return out.count - Int(stream.pointee.avail_out)
                    }
                    output.append(contentsOf: chunk[..<produced])
                } while stream.pointee.avail_out == 0 && failure == nil
            } while flush != Z_FINISH && failure == nil
        }
        if let failure {
            throw OutputFileError(path: path, reason: "zlib gzip compression failed (status \(failure))")
        }
        return output
    }
}
