/// An element type of IDX, with the unsigned integer holding its bits.
protocol IDXScalar {
    associatedtype Bits: FixedWidthInteger & UnsignedInteger
    /// The element's bits, as stored (before byte-order conversion).
    var idxBits: Bits { get }
}

extension IDXScalar {
    /// Converts elements whose bytes are in big-endian order to host order, in place.
    static func convertFromBigEndian(_ buffer: UnsafeMutableBufferPointer<Self>) {
        guard MemoryLayout<Bits>.size > 1 else { return }
        buffer.withMemoryRebound(to: Bits.self) { bits in
            for i in bits.indices { bits[i] = Bits(bigEndian: bits[i]) }
        }
    }
}

extension UInt8: IDXScalar { var idxBits: UInt8 { self } }
extension Int8: IDXScalar { var idxBits: UInt8 { UInt8(bitPattern: self) } }
extension Int16: IDXScalar { var idxBits: UInt16 { UInt16(bitPattern: self) } }
extension Int32: IDXScalar { var idxBits: UInt32 { UInt32(bitPattern: self) } }
extension Float: IDXScalar { var idxBits: UInt32 { bitPattern } }
extension Double: IDXScalar { var idxBits: UInt64 { bitPattern } }
