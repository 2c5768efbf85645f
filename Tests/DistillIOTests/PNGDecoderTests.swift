import Foundation
import Testing
@testable import DistillIO

/// Every colour type and bit depth PNG allows, with and without transparency,
/// interlaced, and with a gAMA chunk that must be ignored.
private func everyKindOfPNG() -> [(String, TestPNG)] {
    let (w, h) = (7, 5)
    func png(_ type: TestPNG.ColorType, _ depth: Int, seed: Int) -> TestPNG {
        let maximum = type == .palette ? (1 << depth) - 1 : (1 << depth) - 1
        return TestPNG(width: w, height: h, colorType: type, bitDepth: depth,
                       samples: testSamples(count: w * h * type.samples, maximum: maximum, seed: seed))
    }
    var cases: [(String, TestPNG)] = []
    for depth in [1, 2, 4, 8, 16] { cases.append(("grey \(depth)-bit", png(.grey, depth, seed: depth))) }
    for depth in [8, 16] {
        cases.append(("grey+alpha \(depth)-bit", png(.greyAlpha, depth, seed: 20 + depth)))
        cases.append(("RGB \(depth)-bit", png(.rgb, depth, seed: 30 + depth)))
        cases.append(("RGBA \(depth)-bit", png(.rgba, depth, seed: 40 + depth)))
    }
    for depth in [1, 2, 4, 8] {
        var image = png(.palette, depth, seed: 50 + depth)
        let entries = 1 << depth
        image.palette = (0..<entries).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            .map { ($0, $0 &* 3, 255 - $0) }
        cases.append(("palette \(depth)-bit", image))
        image.paletteAlpha = (0..<max(1, entries - 1)).map { UInt8(truncatingIfNeeded: $0 * 91) }
        cases.append(("palette \(depth)-bit with tRNS", image))
    }
    for depth in [2, 8, 16] {
        var image = png(.grey, depth, seed: 60 + depth)
        image.transparent = [image.samples[3]]
        cases.append(("grey \(depth)-bit with tRNS", image))
    }
    for depth in [8, 16] {
        var image = png(.rgb, depth, seed: 70 + depth)
        image.transparent = Array(image.samples[6..<9])
        cases.append(("RGB \(depth)-bit with tRNS", image))
    }
    var interlaced = png(.rgba, 16, seed: 80)
    interlaced.interlaced = true
    cases.append(("RGBA 16-bit interlaced", interlaced))
    var gammaGrey = png(.grey, 16, seed: 81)
    gammaGrey.gamma = 1.0
    cases.append(("grey 16-bit with gAMA 1.0", gammaGrey))
    var gammaRGB = png(.rgb, 8, seed: 82)
    gammaRGB.gamma = 0.8
    gammaRGB.interlaced = true
    cases.append(("RGB 8-bit interlaced with gAMA 0.8", gammaRGB))
    return cases
}

@Test("every PNG colour type and bit depth decodes to the stored samples, alpha composited on black")
func everyColourTypeAndDepth() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    for (name, png) in everyKindOfPNG() {
        let path = try tree.write(png.encoded(), to: name + ".png")
        let decoded = try PNGDecoder.read(contentsOf: path)
        let colour = png.colorType == .palette || png.colorType == .rgb || png.colorType == .rgba
        let depth = png.bitDepth == 16 ? 16 : 8
        #expect(decoded.shape == StoredImageShape(height: 5, width: 7, channels: colour ? 3 : 1, bitDepth: depth),
                "\(name)")
        let values: [UInt16] = switch decoded.samples {
        case .uint8(let v): v.map(UInt16.init)
        case .uint16(let v): v
        }
        #expect(values == png.expected(), "\(name)")
        #expect(decoded.samples.bitDepth == depth, "\(name)")
    }
}

@Test("the expected values are not trivial: transparency and scaling change some samples")
func fixturesExerciseTheConversions() {
    for (name, png) in everyKindOfPNG() {
        let transparency = png.colorType == .rgba || png.colorType == .greyAlpha
            || !png.transparent.isEmpty || !png.paletteAlpha.isEmpty
        if transparency {
            // Some pixel with a non-zero colour is transparent and becomes black.
            let expected = png.expected()
            #expect(expected.contains(0), "\(name)")
            #expect(expected.contains { $0 != 0 }, "\(name)")
        }
        if png.colorType == .grey && png.bitDepth < 8 {
            #expect(png.expected() != png.samples, "\(name)")
            #expect(png.expected().max() == 255, "\(name)")
        }
    }
}

@Test("a damaged, truncated or non-PNG file is an error naming it, never a crash")
func damagedPNGs() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    let good = TestPNG(width: 9, height: 9, colorType: .rgb, bitDepth: 8,
                       samples: testSamples(count: 243, maximum: 255, seed: 5)).encoded()
    var corrupted = good
    corrupted[good.count / 2] ^= 0xFF  // inside IDAT: bad CRC or bad deflate data
    var badHeader = good
    badHeader[16] = 0xFF  // width's top byte: CRC of IHDR no longer matches
    let cases: [(String, [UInt8])] = [
        ("empty.png", []), ("text.png", Array("not a png\n".utf8)), ("signature-only.png", Array(good[..<8])),
        ("cut-in-header.png", Array(good[..<20])), ("cut-in-data.png", Array(good[..<(good.count - 30)])),
        ("flipped.png", corrupted), ("bad-header.png", badHeader),
    ]
    for (name, bytes) in cases {
        let path = try tree.write(bytes, to: name)
        let error = #expect(throws: ImageDatasetError.self, "\(name)") { try PNGDecoder.read(contentsOf: path) }
        guard let error else { continue }
        #expect(error.path == path)
        guard case .badPNG(let message) = error.kind else {
            Issue.record("\(name): unexpected \(error)")
            continue
        }
        #expect(!message.isEmpty)
        #expect(error.description.hasPrefix(path + ": expected a PNG image"))
        #expect(!error.description.contains("\n"))
    }
    expectImageDatasetError(tree.file("missing.png"), .notFound) { _ = try PNGDecoder.read(contentsOf: tree.file("missing.png")) }
    try tree.makeFolder("folder.png")
    expectImageDatasetError(tree.file("folder.png"), .isAFolder) { _ = try PNGDecoder.read(contentsOf: tree.file("folder.png")) }
}

@Test("16-bit samples reduce to the nearest 8-bit value")
func reduceTo8Bits() {
    let samples = ImageSamples.uint16([0, 128, 129, 257, 32767, 32768, 65535])
    // v * 255 / 65535 = v / 257: 128/257 = 0.498 -> 0; 129/257 = 0.502 -> 1.
    #expect(samples.reducedTo8Bits() == [0, 0, 1, 1, 127, 128, 255])
    #expect(ImageSamples.uint8([3, 200]).reducedTo8Bits() == [3, 200])
}
