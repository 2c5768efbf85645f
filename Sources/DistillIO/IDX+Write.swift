extension IDX {
    /// The IDX bytes of `array`: magic number, big-endian dimensions, big-endian elements.
    public static func encode(_ array: IDXArray) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, array.dataType.rawValue, UInt8(array.shape.count)]
        for dimension in array.shape {
            withUnsafeBytes(of: UInt32(dimension).bigEndian) { bytes.append(contentsOf: $0) }
        }
        switch array.elements {
        case .ubyte(let v): bytes += v
        case .byte(let v): appendBigEndian(v, to: &bytes)
        case .int16(let v): appendBigEndian(v, to: &bytes)
        case .int32(let v): appendBigEndian(v, to: &bytes)
        case .float32(let v): appendBigEndian(v, to: &bytes)
        case .float64(let v): appendBigEndian(v, to: &bytes)
        }
        return bytes
    }

    /// Writes `array` to `path` atomically, gzip-compressed if `gzip` is true
    /// (whatever the file name says).
    public static func write(_ array: IDXArray, to path: String, gzip: Bool = false) throws(OutputFileError) {
        let bytes = encode(array)
        try OutputFile.write(gzip ? try IDXGzip.compress(bytes, for: path) : bytes, to: path)
    }

    private static func appendBigEndian<T: IDXScalar>(_ values: [T], to bytes: inout [UInt8]) {
        let start = bytes.count
        let width = MemoryLayout<T.Bits>.size
        bytes += repeatElement(0, count: values.count * width)
        bytes.withUnsafeMutableBytes { out in
            for (i, value) in values.enumerated() {
                out.storeBytes(of: value.idxBits.bigEndian, toByteOffset: start + i * width, as: T.Bits.self)
            }
        }
    }
}
