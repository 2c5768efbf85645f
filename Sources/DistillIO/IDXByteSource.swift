#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Something the IDX reader pulls bytes from: a file, memory, or a gzip stream over either.
protocol IDXByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer` and returns how many; 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IDXError.Kind) -> Int
}

extension IDXByteSource {
    /// Fills `buffer` unless the end comes first; returns the number of bytes read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(IDXError.Kind) -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Reads to the end in bounded chunks, discarding the bytes; returns how many there were.
    func countRemaining() throws(IDXError.Kind) -> Int {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        var total = 0
        while true {
            let n = try read(into: scratch)
            if n == 0 { return total }
            total += n
        }
    }
}

/// Reads an open file descriptor (not owned: the caller closes it).
final class IDXFileBytes: IDXByteSource {
    private let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IDXError.Kind) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(descriptor, base, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw .unreadable(idxErrnoText()) }
        }
    }
}

/// Reads bytes already in memory.
final class IDXMemoryBytes: IDXByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IDXError.Kind) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + n]))
        }
        offset += n
        return n
    }
}

/// The text of the current `errno`.
func idxErrnoText() -> String { String(cString: strerror(errno)) }
