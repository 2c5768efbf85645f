import Testing
@testable import DistillIO

@Test("colour images round trip through IDX as rank 4 (count x height x width x channels)", arguments: [false, true])
func colourIDXRoundTrip(gzip: Bool) throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    let shape = [3, 5, 4, 3]
    let bytes = (0..<180).map { UInt8(truncatingIfNeeded: $0 * 97 + 13) }
    let images = try IDXArray(shape: shape, elements: .ubyte(bytes))
    let path = folder.file("colour-images-idx4-ubyte")
    try IDX.write(images, to: path, gzip: gzip)
    let back = try IDX.read(contentsOf: path)
    #expect(back == images)
    let raw = try readBytes(path)
    if !gzip {
        // The header says rank 4 and the four dimensions; the samples follow in HWC order.
        #expect(Array(raw[..<20]) == idxHeader(0x08, [3, 5, 4, 3]))
        #expect(Array(raw[20...]) == bytes)
    }
    let floats = try IDXArray(shape: shape, elements: .float32(bytes.map { Float($0) / 255 }))
    try IDX.write(floats, to: path, gzip: gzip)
    #expect(try IDX.read(contentsOf: path) == floats)

    // A CIFAR-shaped set (32x32x3) made into IDX and back keeps every sample.
    let cifar = try IDXArray(shape: [2, 32, 32, 3], elements: .ubyte((0..<6144).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
    try IDX.write(cifar, to: path, gzip: gzip)
    #expect(try IDX.read(contentsOf: path) == cifar)
}
