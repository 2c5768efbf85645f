#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing IDX files, the format of the MNIST database.
///
/// An IDX file is a magic number (two zero bytes, a type code, a rank), `rank`
/// big-endian UInt32 dimensions, then the elements big-endian, row-major.
/// Gzip-compressed files are recognised by their first two bytes (0x1f 0x8b),
/// never by their name.
public enum IDX {
    /// Any gzip file claiming more decompressed bytes than this many per compressed
    /// byte (plus `gzipSlack`) is cut short: deflate cannot expand more than 1032:1.
    /// Such a claim is answered with `truncated` after counting the real content in
    /// bounded chunks, so a lying header never makes the reader allocate.
    static let gzipMaximumRatio = 1032
    /// Headroom for tiny files and gzip headers in the cap above.
    static let gzipSlack = 1 << 20
    static let gzipMagic: [UInt8] = [0x1F, 0x8B]

    /// Reads the IDX file at `path`, raw or gzip-compressed.
    ///
    /// The header is read and validated first; the elements are then read (or
    /// inflated) straight into an array of exactly the size it promises. The file
    /// must hold exactly that many data bytes. With `expecting`, a rank it does
    /// not accept is refused as soon as the magic number is read
    /// (`IDXError.Kind.unexpectedRank`), before any dimension.
    public static func read(contentsOf path: String, expecting ranks: IDXExpectedRank? = nil) throws(IDXError) -> IDXArray {
        do throws(IDXError.Kind) {
            return try readFile(path, expecting: ranks)
        } catch {
            throw IDXError(path: path, kind: error)
        }
    }

    /// Decodes IDX bytes held in memory, raw or gzip-compressed; `name` is used in errors.
    public static func decode(_ bytes: [UInt8], name: String) throws(IDXError) -> IDXArray {
        do throws(IDXError.Kind) {
            let memory = IDXMemoryBytes(bytes)
            if bytes.starts(with: gzipMagic) {
                return try parse(IDXGzipBytes(input: memory), size: .atMost(gzipCap(bytes.count)))
            }
            return try parse(memory, size: .exact(bytes.count))
        } catch {
            throw IDXError(path: name, kind: error)
        }
    }

    /// The most decompressed bytes a gzip file of `compressedBytes` bytes can hold.
    private static func gzipCap(_ compressedBytes: Int) -> Int {
        let (product, overflow) = compressedBytes.multipliedReportingOverflow(by: gzipMaximumRatio)
        return overflow ? Int.max : product.addingReportingOverflow(gzipSlack).partialValue
    }

    private static func readFile(_ path: String, expecting ranks: IDXExpectedRank?) throws(IDXError.Kind) -> IDXArray {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw errno == ENOENT ? .fileNotFound : .unreadable(idxErrnoText())
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: throw .isDirectory
        case S_IFREG: break
        default: throw .unreadable("not a regular file")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(idxErrnoText()) }
        defer { close(descriptor) }
        guard fstat(descriptor, &info) == 0 else { throw .unreadable(idxErrnoText()) }
        let size = Int(info.st_size)
        guard size > 0 else { throw .emptyFile }

        var head: (UInt8, UInt8) = (0, 0)
        let peeked = withUnsafeMutableBytes(of: &head) { pread(descriptor, $0.baseAddress, 2, 0) }
        guard peeked >= 0 else { throw .unreadable(idxErrnoText()) }
        let file = IDXFileBytes(descriptor: descriptor)
        if peeked == 2 && [head.0, head.1] == gzipMagic {
            return try parse(IDXGzipBytes(input: file), size: .atMost(gzipCap(size)), expecting: ranks)
        }
        return try parse(file, size: .exact(size), expecting: ranks)
    }

    /// What is known about the content size before reading it.
    enum ContentSize {
        /// A raw file: exactly this many bytes.
        case exact(Int)
        /// A gzip stream: at most this many bytes once decompressed.
        case atMost(Int)
    }

    /// Reads the header, validates it against `size` (and its rank against
    /// `ranks`, before the dimensions), then reads the elements.
    static func parse(_ source: IDXByteSource, size: ContentSize, expecting ranks: IDXExpectedRank? = nil) throws(IDXError.Kind) -> IDXArray {
        let magic = try readBytes(4, from: source)
        guard !magic.isEmpty else { throw .emptyFile }
        guard magic.prefix(2).allSatisfy({ $0 == 0 }) else { throw .badMagic(magic) }
        guard magic.count == 4 else { throw .truncatedHeader(expected: 4, found: magic.count) }
        guard let type = IDXDataType(rawValue: magic[2]) else { throw .unknownTypeCode(magic[2]) }
        let rank = Int(magic[3])
        guard rank > 0 else { throw .rankZero }
        if let ranks, !ranks.ranks.contains(rank) { throw .unexpectedRank(expected: ranks.text, found: rank) }

        let headerBytes = 4 + 4 * rank
        let dimensionBytes = try readBytes(4 * rank, from: source)
        guard dimensionBytes.count == 4 * rank else {
            throw .truncatedHeader(expected: headerBytes, found: 4 + dimensionBytes.count)
        }
        let shape = (0..<rank).map { i in
            dimensionBytes[4 * i..<4 * i + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        let count = try IDXShape.elementCount(shape, byteWidth: type.byteWidth)
        let dataBytes = count * type.byteWidth

        switch size {
        case .exact(let total):
            let available = total - headerBytes
            if available < dataBytes { throw .truncated(expected: dataBytes, found: available) }
            if available > dataBytes { throw .trailingBytes(expected: dataBytes, found: available) }
        case .atMost(let limit):
            if dataBytes > limit - headerBytes {
                throw .truncated(expected: dataBytes, found: try source.countRemaining())
            }
        }

        let elements: IDXElements = switch type {
        case .ubyte: .ubyte(try readElements(count, from: source))
        case .byte: .byte(try readElements(count, from: source))
        case .int16: .int16(try readElements(count, from: source))
        case .int32: .int32(try readElements(count, from: source))
        case .float32: .float32(try readElements(count, from: source))
        case .float64: .float64(try readElements(count, from: source))
        }
        let extra = try source.countRemaining()
        if extra > 0 { throw .trailingBytes(expected: dataBytes, found: dataBytes + extra) }
        return IDXArray(validatedShape: shape, elements: elements)
    }

    /// Reads up to `count` (small) bytes; fewer only at the end of the content.
    private static func readBytes(_ count: Int, from source: IDXByteSource) throws(IDXError.Kind) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var failure: IDXError.Kind?
        let got = bytes.withUnsafeMutableBytes { buffer in
            do throws(IDXError.Kind) { return try source.readFully(into: buffer) } catch { failure = error; return 0 }
        }
        if let failure { throw failure }
        return Array(bytes[..<got])
    }

    /// Reads `count` big-endian elements straight into their final array, then
    /// converts them to host byte order in place.
    private static func readElements<T: IDXScalar>(
        _ count: Int, from source: IDXByteSource
    ) throws(IDXError.Kind) -> [T] {
        var failure: IDXError.Kind?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            do throws(IDXError.Kind) {
                let got = try source.readFully(into: raw)
                guard got == raw.count else {
                    throw IDXError.Kind.truncated(expected: raw.count, found: got)
                }
            } catch {
                failure = error
                return
            }
            T.convertFromBigEndian(buffer)
            initialized = count
        }
        if let failure { throw failure }
        return values
    }
}
