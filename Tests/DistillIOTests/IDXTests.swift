import DistillIO
import Foundation
import Testing

/// Arrays of every type with extreme values, for ranks 1 to 4.
private func sampleArrays(_ type: IDXDataType) throws -> [IDXArray] {
    let shapes = [[13], [3, 5], [2, 3, 4], [2, 1, 3, 2]]
    return try shapes.map { shape in
        let n = shape.reduce(1, *)
        let elements: IDXElements = switch type {
        case .ubyte: .ubyte((0..<n).map { [0, 1, 127, 128, 255][$0 % 5] })
        case .byte: .byte((0..<n).map { [Int8.min, -1, 0, 1, Int8.max][$0 % 5] })
        case .int16: .int16((0..<n).map { [Int16.min, -258, -1, 0, 1, 0x0102, Int16.max][$0 % 7] })
        case .int32: .int32((0..<n).map { [Int32.min, -65536, -1, 0, 1, 0x0102_0304, Int32.max][$0 % 7] })
        case .float32: .float32((0..<n).map {
            [-Float.greatestFiniteMagnitude, -1.5, -0.0, 0, .leastNonzeroMagnitude, .pi, .infinity,
             -.infinity, Float(bitPattern: 0x7FC1_2345), .greatestFiniteMagnitude][$0 % 10]
        })
        case .float64: .float64((0..<n).map {
            [-Double.greatestFiniteMagnitude, -1.5, -0.0, 0, .leastNonzeroMagnitude, .pi, .infinity,
             -.infinity, Double(bitPattern: 0xFFF8_0000_DEAD_BEEF), .greatestFiniteMagnitude][$0 % 10]
        })
        }
        return try IDXArray(shape: shape, elements: elements)
    }
}

@Test("every type code round-trips through files, raw and gzip, ranks 1 to 4",
      arguments: IDXDataType.allCases, [false, true])
func roundTripThroughFiles(type: IDXDataType, gzip: Bool) throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    for array in try sampleArrays(type) {
        let path = folder.file("a-rank\(array.shape.count)")
        try IDX.write(array, to: path, gzip: gzip)
        #expect(try readBytes(path).starts(with: [0x1F, 0x8B]) == gzip)
        let back = try IDX.read(contentsOf: path)
        #expect(back.shape == array.shape)
        #expect(back.dataType == type)
        #expect(bitwiseEqual(back.elements, array.elements))
    }
}

@Test("every type code round-trips through encode and decode, NaN payloads included",
      arguments: IDXDataType.allCases)
func roundTripInMemory(type: IDXDataType) throws {
    for array in try sampleArrays(type) {
        let bytes = IDX.encode(array)
        #expect(bytes.count == 4 + 4 * array.shape.count + array.count * type.byteWidth)
        let back = try IDX.decode(bytes, name: "memory")
        #expect(back.shape == array.shape)
        #expect(bitwiseEqual(back.elements, array.elements))
        #expect(bitwiseEqual(try IDX.decode(gzipped(bytes), name: "memory").elements, array.elements))
    }
}

@Test("NaN payloads and signs survive bit for bit")
func nanPayloads() throws {
    let floats = [Float(bitPattern: 0x7FC1_2345), Float(bitPattern: 0xFFC0_0001), Float(bitPattern: 0x7F80_0001)]
    let doubles = [Double(bitPattern: 0x7FF8_0000_0000_1234), Double(bitPattern: 0xFFF0_0000_0000_0001)]
    let a = try IDX.decode(IDX.encode(IDXArray(shape: [3], elements: .float32(floats))), name: "f")
    let b = try IDX.decode(IDX.encode(IDXArray(shape: [2], elements: .float64(doubles))), name: "d")
    guard case .float32(let f) = a.elements, case .float64(let d) = b.elements else {
        Issue.record("wrong element types")
        return
    }
    #expect(f.map(\.bitPattern) == floats.map(\.bitPattern))
    #expect(d.map(\.bitPattern) == doubles.map(\.bitPattern))
}

@Test("the encoding is big-endian, byte for byte")
func bigEndianBytes() throws {
    let int16 = try IDXArray(shape: [2], elements: .int16([0x0102, -2]))
    #expect(IDX.encode(int16) == [0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    let float32 = try IDXArray(shape: [1, 1], elements: .float32([1.0]))
    #expect(IDX.encode(float32) == [0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0x3F, 0x80, 0, 0])
    let float64 = try IDXArray(shape: [1], elements: .float64([-2.0]))
    #expect(IDX.encode(float64) == [0, 0, 0x0E, 1, 0, 0, 0, 1, 0xC0, 0, 0, 0, 0, 0, 0, 0])
}

@Test("concatenated gzip members are read as one stream")
func concatenatedMembers() throws {
    let bytes = idxHeader(0x08, [2, 3]) + [1, 2, 3, 4, 5, 6]
    let joined = try gzipped(Array(bytes[..<7])) + gzipped(Array(bytes[7...]))
    let array = try IDX.decode(joined, name: "joined.gz")
    #expect(array.shape == [2, 3])
    #expect(array.elements == .ubyte([1, 2, 3, 4, 5, 6]))
}

/// Writes `bytes` to a file, reads it, and checks the error kind and that the
/// description starts with the file's path. Also checks `decode` on the same bytes.
private func expectReadError(
    _ bytes: [UInt8], _ kind: IDXError.Kind, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    try expectReadError(bytes, sourceLocation: sourceLocation) { $0 == kind }
}

private func expectReadError(
    _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation,
    matching: (IDXError.Kind) -> Bool
) throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    let path = try folder.write(bytes, to: "bad-idx")
    for attempt in [{ try IDX.read(contentsOf: path) }, { try IDX.decode(bytes, name: path) }] {
        let error = #expect(throws: IDXError.self, sourceLocation: sourceLocation) { try attempt() }
        guard let error else { continue }
        #expect(error.path == path, sourceLocation: sourceLocation)
        #expect(matching(error.kind), "unexpected \(error)", sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix(path + ": "), sourceLocation: sourceLocation)
    }
}

@Test("malformed headers give their typed errors")
func malformedHeaders() throws {
    try expectReadError([1, 0, 8, 1, 0, 0, 0, 1, 7], .badMagic([1, 0, 8, 1]))
    try expectReadError([0, 7], .badMagic([0, 7]))
    try expectReadError([0, 0, 8], .truncatedHeader(expected: 4, found: 3))
    try expectReadError([0, 0, 0x07, 1, 0, 0, 0, 1, 5], .unknownTypeCode(0x07))
    try expectReadError([0, 0, 0x0A, 1, 0, 0, 0, 1, 5], .unknownTypeCode(0x0A))
    try expectReadError([0, 0, 0x08, 0], .rankZero)
    try expectReadError(idxHeader(0x08, [3, 0]), .zeroDimension(index: 1))
    try expectReadError([0, 0, 0x08, 2, 0, 0, 0, 1], .truncatedHeader(expected: 12, found: 8))
    let huge: [UInt32] = [.max, .max, .max]
    try expectReadError(idxHeader(0x08, huge) + [1, 2], .dimensionProductOverflow(shape: huge.map(Int.init)))
    // The element count fits in Int, the byte count (x 8) does not.
    try expectReadError(idxHeader(0x0E, [.max, 0x7FFF_FFFF]),
                        .dimensionProductOverflow(shape: [Int(UInt32.max), 0x7FFF_FFFF]))
    try expectReadError(try gzipped(idxHeader(0x08, huge)), .dimensionProductOverflow(shape: huge.map(Int.init)))
}

@Test("data shorter or longer than the header says is rejected, raw and gzip")
func wrongDataLength() throws {
    let header = idxHeader(0x0C, [2, 2])  // int32: 16 data bytes
    for gzip in [false, true] {
        let wrap = { (bytes: [UInt8]) throws -> [UInt8] in gzip ? try gzipped(bytes) : bytes }
        try expectReadError(try wrap(header + [UInt8](repeating: 1, count: 10)),
                            .truncated(expected: 16, found: 10))
        try expectReadError(try wrap(header), .truncated(expected: 16, found: 0))
        try expectReadError(try wrap(header + [UInt8](repeating: 1, count: 19)),
                            .trailingBytes(expected: 16, found: 19))
        // A header promising 4 GiB must not make the reader allocate it.
        try expectReadError(try wrap(idxHeader(0x08, [.max]) + [1, 2, 3]),
                            .truncated(expected: Int(UInt32.max), found: 3))
        try expectReadError(try wrap([]), .emptyFile)
    }
}

@Test("a damaged gzip stream is a corruptGzip error")
func corruptGzip() throws {
    var generator = SystemRandomNumberGenerator()
    let data = idxHeader(0x08, [4096]) + (0..<4096).map { _ in UInt8.random(in: 0...15, using: &generator) }
    let good = try gzipped(data)
    #expect(try IDX.decode(good, name: "good").count == 4096)
    let isCorrupt: (IDXError.Kind) -> Bool = { if case .corruptGzip = $0 { true } else { false } }

    var flipped = good
    flipped[good.count / 2] ^= 0x5A
    try expectReadError(flipped, matching: isCorrupt)
    var badCRC = good
    badCRC[good.count - 8] ^= 0xFF
    try expectReadError(badCRC, .corruptGzip("incorrect data check"))
    var badLength = good
    badLength[good.count - 1] ^= 0x01
    try expectReadError(badLength, .corruptGzip("incorrect length check"))
    try expectReadError(Array(good.dropLast(4)), matching: isCorrupt)
    try expectReadError(Array(good[..<(good.count / 2)]), matching: isCorrupt)
    try expectReadError(good + [0, 0, 0, 0], matching: isCorrupt)
}

@Test("a missing file and a folder give their errors, naming the path")
func missingFileAndFolder() throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    let missing = folder.file("nothing-here")
    #expect(throws: IDXError(path: missing, kind: .fileNotFound)) { try IDX.read(contentsOf: missing) }
    #expect(throws: IDXError(path: folder.path, kind: .isDirectory)) { try IDX.read(contentsOf: folder.path) }
    #expect(IDXError(path: missing, kind: .fileNotFound).description == "\(missing): no such file")
}

@Test("descriptions read as one line: file, expected, found")
func descriptions() {
    let error = IDXError(path: "data/x-idx3-ubyte", kind: .truncated(expected: 47_040_000, found: 1000))
    #expect(error.description == "data/x-idx3-ubyte: truncated: header promises 47040000 data bytes, file holds 1000")
    let unknown = IDXError(path: "f", kind: .unknownTypeCode(0x07))
    #expect(unknown.description.hasPrefix("f: unknown type code 0x07: expected one of ubyte (0x08)"))
    #expect(IDXError(path: "f", kind: .badMagic([1, 2, 3, 4])).description
            == "f: bad magic number: expected 00 00 <type> <rank>, found 0x01 0x02 0x03 0x04")
}

@Test("IDXArray checks its shape against its elements")
func arrayValidation() {
    func kind(_ shape: [Int], _ elements: IDXElements) -> IDXError.Kind? {
        do { _ = try IDXArray(shape: shape, elements: elements); return nil } catch { return error.kind }
    }
    #expect(kind([2, 2], .ubyte([1, 2, 3, 4])) == nil)
    #expect(kind([2, 2], .ubyte([1, 2, 3])) == .elementCountMismatch(expected: 4, found: 3))
    #expect(kind([], .ubyte([])) == .rankZero)
    #expect(kind([2, 0], .ubyte([])) == .zeroDimension(index: 1))
    #expect(kind([-1], .ubyte([])) == .dimensionOutOfRange(index: 0, value: -1))
    #expect(kind([1 << 32], .ubyte([])) == .dimensionOutOfRange(index: 0, value: 1 << 32))
    #expect(kind([Int](repeating: 1, count: 256), .ubyte([1])) == .rankTooLarge(256))
}

@Test("the opt-in finiteness check reports the first NaN or infinity")
func finiteCheck() throws {
    let floats = try IDXArray(shape: [4], elements: .float32([1, 2, .infinity, .nan]))
    #expect(floats.firstNonFiniteIndex == 2)
    #expect(throws: IDXError(path: "p", kind: .nonFiniteValue(index: 2))) { try floats.validateFinite(path: "p") }
    let doubles = try IDXArray(shape: [2], elements: .float64([1, .nan]))
    #expect(doubles.firstNonFiniteIndex == 1)
    let bytes = try IDXArray(shape: [2], elements: .ubyte([0, 255]))
    #expect(bytes.firstNonFiniteIndex == nil)
    try bytes.validateFinite(path: "p")
}

@Test("conversions to Double and Float")
func conversions() throws {
    let bytes = try IDXArray(shape: [3], elements: .byte([-128, 0, 127]))
    #expect(bytes.doubles() == [-128, 0, 127])
    #expect(bytes.floats() == [-128, 0, 127])
    let doubles = try IDXArray(shape: [2], elements: .float64([0.5, 1e300]))
    #expect(doubles.floats() == [0.5, .infinity])
    #expect(doubles.doubles() == [0.5, 1e300])
}

@Test("a rank the reader does not accept is refused as the header is read, before any dimension, raw and gzip")
func anUnexpectedRankIsNamedAsSuch() throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    // An MNIST-sized labels file whose rank byte says 4: the labels after the one
    // dimension, read as three more, multiply to more bytes than can be counted.
    let labels = (0..<60_000).map { UInt8(($0 * 7 + 5) % 10) }
    var bytes = idxHeader(0x08, [60_000]) + labels
    bytes[3] = 4
    let labelsRank = IDXExpectedRank([1], "rank 1 (labels)")
    for gzip in [false, true] {
        let path = try folder.write(gzip ? try gzipped(bytes) : bytes, to: gzip ? "labels.gz" : "labels")
        let error = #expect(throws: IDXError.self) { try IDX.read(contentsOf: path, expecting: labelsRank) }
        #expect(error == IDXError(path: path, kind: .unexpectedRank(expected: "rank 1 (labels)", found: 4)))
        #expect(error?.description == path + ": expected rank 1 (labels), found rank 4")
    }
    // A file of an accepted rank reads as without the expectation.
    let good = try folder.write(idxHeader(0x08, [3, 2]) + [1, 2, 3, 4, 5, 6], to: "images")
    let images = IDXExpectedRank([3, 2], "rank 2 or 3")
    #expect(try IDX.read(contentsOf: good, expecting: images) == IDX.read(contentsOf: good))
    #expect(throws: IDXError(path: good, kind: .unexpectedRank(expected: "rank 1 (labels)", found: 2))) {
        try IDX.read(contentsOf: good, expecting: labelsRank)
    }
}
