import CPNG
import Foundation
import Testing
@testable import DistillIO

/// A PNG to write with libpng's row API (`png_write_image`), independent of the
/// decoder under test, with the samples exactly as they go in the file.
///
/// Only for well-formed test images: this writer sets no setjmp, so a libpng error
/// here would abort the test process (it cannot happen with valid parameters).
struct TestPNG {
    enum ColorType: Int32, CaseIterable {
        case grey = 0, rgb = 2, palette = 3, greyAlpha = 4, rgba = 6
        /// Samples per pixel in the file.
        var samples: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][rawValue] ?? 0 }
    }

    var width: Int
    var height: Int
    var colorType: ColorType
    var bitDepth: Int
    /// `height * width * colorType.samples` values as stored (palette: indices).
    var samples: [UInt16]
    /// Palette colours (palette images).
    var palette: [(UInt8, UInt8, UInt8)] = []
    /// tRNS for palette images: the alpha of the first entries.
    var paletteAlpha: [UInt8] = []
    /// tRNS for grey (one value) or RGB (three values) images: the transparent colour.
    var transparent: [UInt16] = []
    /// A gAMA chunk (the decoder must ignore it).
    var gamma: Double?
    var interlaced = false

    /// The encoded file.
    func encoded() -> [UInt8] {
        let sink = ByteSink()
        var png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nil, nil, nil)
        var info = png_create_info_struct(png)
        png_set_write_fn(png, Unmanaged.passUnretained(sink).toOpaque(), { png, data, length in
            guard let pointer = png_get_io_ptr(png), let data else { return }
            let sink = Unmanaged<ByteSink>.fromOpaque(pointer).takeUnretainedValue()
            sink.bytes += UnsafeBufferPointer(start: data, count: length)
        }, { _ in })
        png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), Int32(bitDepth), colorType.rawValue,
                     interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT)
        if colorType == .palette {
            var colours = palette.map { png_color(red: $0.0, green: $0.1, blue: $0.2) }
            png_set_PLTE(png, info, &colours, Int32(colours.count))
            if !paletteAlpha.isEmpty {
                var alpha = paletteAlpha
                png_set_tRNS(png, info, &alpha, Int32(alpha.count), nil)
            }
        } else if !transparent.isEmpty {
            var key = png_color_16()
            if transparent.count == 1 {
                key.gray = transparent[0]
            } else {
                (key.red, key.green, key.blue) = (transparent[0], transparent[1], transparent[2])
            }
            png_set_tRNS(png, info, nil, 0, &key)
        }
        if let gamma { png_set_gAMA(png, info, gamma) }
        png_write_info(png, info)
        let rows = packedRows()
        let rowBytes = rows[0].count
        var flat = rows.flatMap { $0 }
        flat.withUnsafeMutableBufferPointer { buffer in
            var pointers: [png_bytep?] = (0..<height).map { y in buffer.baseAddress.map { $0 + y * rowBytes } }
            pointers.withUnsafeMutableBufferPointer { png_write_image(png, $0.baseAddress) }
        }
        png_write_end(png, nil)
        png_destroy_write_struct(&png, &info)
        return sink.bytes
    }

    /// Rows packed as PNG stores them: sub-byte samples MSB first, 16-bit big-endian.
    private func packedRows() -> [[UInt8]] {
        let perRow = width * colorType.samples
        return (0..<height).map { y in
            let row = samples[y * perRow..<(y + 1) * perRow]
            switch bitDepth {
            case 16:
                return row.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
            case 8:
                return row.map { UInt8($0) }
            default:
                let perByte = 8 / bitDepth
                var bytes = [UInt8](repeating: 0, count: (perRow + perByte - 1) / perByte)
                for (i, value) in row.enumerated() {
                    bytes[i / perByte] |= UInt8(value) << (8 - bitDepth * (i % perByte + 1))
                }
                return bytes
            }
        }
    }

    /// What `PNGDecoder` must give: 1 or 3 channels, alpha composited on black as
    /// `(c * a + max / 2) / max`, sub-byte grey scaled to 8 bits, no gamma.
    func expected() -> [UInt16] {
        let maximum = UInt32(bitDepth == 16 ? 65535 : 255)
        func over(_ c: UInt32, _ a: UInt32) -> UInt16 { UInt16((c * a + maximum / 2) / maximum) }
        var out: [UInt16] = []
        let n = colorType.samples
        for p in 0..<width * height {
            let s = Array(samples[p * n..<(p + 1) * n]).map(UInt32.init)
            switch colorType {
            case .grey:
                let scaled = bitDepth < 8 ? s[0] * 255 / ((1 << bitDepth) - 1) : s[0]
                out.append(transparent == [UInt16(s[0])] ? 0 : UInt16(scaled))
            case .greyAlpha:
                out.append(over(s[0], s[1]))
            case .palette:
                let colour = palette[Int(s[0])]
                let alpha = Int(s[0]) < paletteAlpha.count ? UInt32(paletteAlpha[Int(s[0])]) : 255
                out += [colour.0, colour.1, colour.2].map { over(UInt32($0), alpha) }
            case .rgb:
                out += transparent == s.map { UInt16($0) } ? [0, 0, 0] : s.map { UInt16($0) }
            case .rgba:
                out += s[0..<3].map { over($0, s[3]) }
            }
        }
        return out
    }
}

private final class ByteSink {
    var bytes: [UInt8] = []
}

/// A deterministic pseudo-random sample pattern in `0...maximum` that includes 0 and `maximum`.
func testSamples(count: Int, maximum: Int, seed: Int) -> [UInt16] {
    var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { i in
        if i == 0 { return 0 }
        if i == 1 { return UInt16(maximum) }
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return UInt16(state % UInt64(maximum + 1))
    }
}

/// A scratch folder tree under /tmp, removed with everything in it by `remove()`.
struct TestTree {
    let path: String

    init() throws {
        var template = Array("/tmp/distill-tree-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        path = try #require(made)
    }

    func file(_ relative: String) -> String { path + "/" + relative }

    /// Writes `bytes` at `relative`, creating the folders on the way.
    @discardableResult
    func write(_ bytes: [UInt8], to relative: String) throws -> String {
        let target = file(relative)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    func makeFolder(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: file(relative), withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Checks that `body` throws an `ImageDatasetError` of `kind` naming `path`, whose
/// description is one line starting with the path.
func expectImageDatasetError(
    _ path: String, _ kind: ImageDatasetError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    let error = #expect(throws: ImageDatasetError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error == ImageDatasetError(path: path, kind: kind), sourceLocation: sourceLocation)
    if let text = error?.description {
        #expect(text.hasPrefix(path + ": "), sourceLocation: sourceLocation)
        #expect(!text.contains("\n"), sourceLocation: sourceLocation)
    }
}
