/// The element type of an IDX file, as stored in the third byte of its magic number.
public enum IDXDataType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Unsigned 8-bit integers (type code 0x08).
    case ubyte = 0x08
    /// Signed 8-bit integers (type code 0x09).
    case byte = 0x09
    /// Signed big-endian 16-bit integers (type code 0x0B).
    case int16 = 0x0B
    /// Signed big-endian 32-bit integers (type code 0x0C).
    case int32 = 0x0C
    /// Big-endian IEEE 754 single-precision floats (type code 0x0D).
    case float32 = 0x0D
    /// Big-endian IEEE 754 double-precision floats (type code 0x0E).
    case float64 = 0x0E

    /// The number of bytes one element takes in the file.
    public var byteWidth: Int {
        switch self {
        case .ubyte, .byte: 1
        case .int16: 2
        case .int32, .float32: 4
        case .float64: 8
        }
    }

    /// The type name followed by its code, e.g. `float32 (0x0D)`.
    public var description: String { "\(name) (\(idxHexByte(rawValue)))" }

    var name: String {
        switch self {
        case .ubyte: "ubyte"
        case .byte: "byte"
        case .int16: "int16"
        case .int32: "int32"
        case .float32: "float32"
        case .float64: "float64"
        }
    }
}

/// `0x0D`-style rendering of one byte.
func idxHexByte(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return "0x" + (digits.count == 1 ? "0" + digits : digits)
}
