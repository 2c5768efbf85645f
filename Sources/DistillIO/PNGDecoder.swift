import CPNGRead

/// One PNG image decoded to the samples stored in the file.
public struct DecodedPNG: Sendable, Equatable {
    /// Rows, columns, output channels (1 or 3) and bits per sample (8 or 16).
    public let shape: StoredImageShape
    /// `height * width * channels` samples, rows top to bottom, channels interleaved.
    public let samples: ImageSamples
}

/// Decodes PNG files with libpng to the values stored in them, for datasets.
///
/// - Every PNG colour type and bit depth is read: grey (1, 2, 4, 8, 16 bits),
///   grey + alpha (8, 16), palette (1, 2, 4, 8; with or without tRNS),
///   RGB (8, 16; with or without tRNS) and RGBA (8, 16). Interlaced files too.
/// - Grey and grey + alpha give 1 channel; palette, RGB and RGBA give 3 (R, G, B).
/// - 16-bit files give 16-bit samples (`ImageSamples.uint16`), all others 8-bit:
///   grey of 1, 2 or 4 bits is scaled to 0...255 (`v * 255 / (2^bits - 1)`), a
///   palette index becomes its palette colour.
/// - **Alpha is composited on black** in the stored encoding: a colour sample `c`
///   with alpha `a` becomes `(c * a + m / 2) / m` with `m` = 255 (8-bit) or 65535
///   (16-bit), integer division, so opaque pixels are unchanged and transparent
///   pixels become 0. tRNS (a palette's alpha table, or the one transparent grey or
///   RGB value) counts as alpha.
/// - No gamma, sRGB, ICC or chromaticity conversion is applied: gAMA, sRGB, iCCP
///   and cHRM chunks are ignored, so the samples are exactly those in the file.
///   (libpng's simplified `png_image` reader would convert 16-bit and gamma-tagged
///   files; this reader uses libpng's row API from C instead, see `CPNGRead`.)
public enum PNGDecoder {
    /// Decoded images larger than this many bytes are refused before allocation (1 GiB).
    public static let maximumByteCount = 1 << 30

    /// Reads and decodes the PNG file at `path`.
    public static func read(contentsOf path: String) throws(ImageDatasetError) -> DecodedPNG {
        try decode(DatasetFiles.read(path), name: path)
    }

    /// Decodes PNG bytes held in memory; `name` is the path used in errors.
    public static func decode(_ bytes: [UInt8], name: String) throws(ImageDatasetError) -> DecodedPNG {
        let raw = try RawPNG(bytes, name: name)
        let shape = raw.shape
        let count = shape.height * shape.width * shape.channels
        let samples: ImageSamples
        if shape.bitDepth == 8 {
            samples = .uint8([UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                raw.store(into: UnsafeMutableRawPointer(buffer.baseAddress))
                initialized = count
            })
        } else {
            samples = .uint16([UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
                raw.store(into: UnsafeMutableRawPointer(buffer.baseAddress))
                initialized = count
            })
        }
        return DecodedPNG(shape: shape, samples: samples)
    }
}

/// A PNG decoded by `distill_png_decode`, owning its pixel buffer (alpha not yet removed).
final class RawPNG {
    private var image = distill_png_image()
    /// The output shape: alpha removed, so 1 or 3 channels.
    let shape: StoredImageShape

    init(_ bytes: [UInt8], name: String) throws(ImageDatasetError) {
        var message = [CChar](repeating: 0, count: 256)
        var decoded = distill_png_image()
        let ok = bytes.withUnsafeBufferPointer { input in
            message.withUnsafeMutableBufferPointer { text in
                distill_png_decode(input.baseAddress, input.count, PNGDecoder.maximumByteCount,
                                   &decoded, text.baseAddress, text.count)
            }
        }
        guard ok == 1, decoded.pixels != nil else {
            let reason = message.withUnsafeBufferPointer { text in
                String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            throw ImageDatasetError(path: name, kind: .badPNG(reason.isEmpty ? "unknown error" : reason))
        }
        image = decoded
        shape = StoredImageShape(height: Int(decoded.height), width: Int(decoded.width),
                           channels: decoded.channels >= 3 ? 3 : 1, bitDepth: Int(decoded.bit_depth))
    }

    deinit { distill_png_release(&image) }

    /// Writes `shape.height * shape.width * shape.channels` samples (UInt8 for 8-bit,
    /// UInt16 for 16-bit) at `destination`, compositing alpha on black.
    func store(into destination: UnsafeMutableRawPointer?) {
        guard let destination, let source = image.pixels else { return }
        let pixels = shape.height * shape.width
        let stored = Int(image.channels)
        if shape.bitDepth == 8 {
            composite(source.assumingMemoryBound(to: UInt8.self), stored: stored, pixels: pixels,
                      into: destination.assumingMemoryBound(to: UInt8.self))
        } else {
            composite(source.assumingMemoryBound(to: UInt16.self), stored: stored, pixels: pixels,
                      into: destination.assumingMemoryBound(to: UInt16.self))
        }
    }

    /// Copies colour samples; with an alpha channel (stored 2 or 4), each colour
    /// sample `c` becomes `(c * a + max / 2) / max`.
    private func composite<T: FixedWidthInteger & UnsignedInteger>(
        _ source: UnsafePointer<T>, stored: Int, pixels: Int, into out: UnsafeMutablePointer<T>
    ) {
        switch stored {
        case 1, 3:
            out.update(from: source, count: pixels * stored)
        default:
            let colours = stored - 1
            let maximum = UInt32(T.max), half = UInt32(T.max) / 2
            for p in 0..<pixels {
                let alpha = UInt32(source[p * stored + colours])
                for c in 0..<colours {
                    let value = UInt32(source[p * stored + c])
                    out[p * colours + c] = T(truncatingIfNeeded: (value * alpha + half) / maximum)
                }
            }
        }
    }
}
