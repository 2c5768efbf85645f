/// Why an IDX file (or an in-memory IDX array) was rejected: the file and what
/// was expected versus found.
public struct IDXError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: Error, Equatable, Sendable {
        /// Nothing exists at the path.
        case fileNotFound
        /// The path is a folder, not a file.
        case isDirectory
        /// The file exists but could not be read; carries the system's error text.
        case unreadable(String)
        /// The file (after decompression, for gzip) holds no bytes at all.
        case emptyFile
        /// The magic number does not start with two zero bytes; carries the bytes found.
        case badMagic([UInt8])
        /// The third magic byte is not one of the six IDX type codes.
        case unknownTypeCode(UInt8)
        /// The fourth magic byte (the rank) is 0.
        case rankZero
        /// The rank is not one the reader accepts (`IDXExpectedRank`); carries
        /// what is expected ("rank 1 (labels)") and the rank found.
        case unexpectedRank(expected: String, found: Int)
        /// The dimension at this index (0-based) is 0.
        case zeroDimension(index: Int)
        /// The dimensions multiply to more elements or bytes than `Int` can count.
        case dimensionProductOverflow(shape: [Int])
        /// The file ends inside the header (magic number and dimensions).
        case truncatedHeader(expected: Int, found: Int)
        /// The file ends before the data the header promises.
        case truncated(expected: Int, found: Int)
        /// The file holds more data bytes than the header promises.
        case trailingBytes(expected: Int, found: Int)
        /// The gzip stream is damaged (bad CRC, cut short, bad header); carries zlib's message.
        case corruptGzip(String)
        /// An element is NaN or infinite. Reading never checks this: only the opt-in
        /// `IDXArray.validateFinite(path:)` and the dataset loader report it.
        case nonFiniteValue(index: Int)
        /// An in-memory array whose element count differs from the product of its shape.
        case elementCountMismatch(expected: Int, found: Int)
        /// An in-memory array with more dimensions than the one rank byte of IDX can hold (255).
        case rankTooLarge(Int)
        /// An in-memory array with a dimension that does not fit the UInt32 of IDX (or is negative).
        case dimensionOutOfRange(index: Int, value: Int)
    }

    /// The file the error is about (or the name given to `IDX.decode`).
    public let path: String
    /// What went wrong.
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// One line: the file, then what was expected versus found.
    public var description: String { "\(path): \(kind.text)" }
}

extension IDXError.Kind {
    var text: String {
        switch self {
        case .fileNotFound:
            "no such file"
        case .isDirectory:
            "expected an IDX file, found a folder"
        case .unreadable(let reason):
            "cannot read the file (\(reason))"
        case .emptyFile:
            "expected an IDX file, found an empty file"
        case .badMagic(let bytes):
            "bad magic number: expected 00 00 <type> <rank>, found "
                + bytes.map { idxHexByte($0) }.joined(separator: " ")
        case .unknownTypeCode(let code):
            "unknown type code \(idxHexByte(code)): expected one of "
                + IDXDataType.allCases.map(\.description).joined(separator: ", ")
        case .rankZero:
            "rank 0: expected at least one dimension"
        case .unexpectedRank(let expected, let found):
            "expected \(expected), found rank \(found)"
        case .zeroDimension(let index):
            "dimension \(index) is 0: expected every dimension to be at least 1"
        case .dimensionProductOverflow(let shape):
            "dimensions \(shape) multiply to more bytes than can be counted"
        case .truncatedHeader(let expected, let found):
            "truncated header: expected \(expected) header bytes, file holds \(found)"
        case .truncated(let expected, let found):
            "truncated: header promises \(expected) data bytes, file holds \(found)"
        case .trailingBytes(let expected, let found):
            "trailing bytes: header promises \(expected) data bytes, file holds \(found)"
        case .corruptGzip(let message):
            "corrupt gzip stream (\(message))"
        case .nonFiniteValue(let index):
            "element \(index) is NaN or infinite: expected finite numbers"
        case .elementCountMismatch(let expected, let found):
            "the shape promises \(expected) elements, found \(found)"
        case .rankTooLarge(let rank):
            "rank \(rank): expected at most 255 dimensions"
        case .dimensionOutOfRange(let index, let value):
            "dimension \(index) is \(value): expected 1...\(UInt32.max)"
        }
    }
}
