import CPNG

/// An error making, writing or reading a PNG image.
public enum PNGError: Error, CustomStringConvertible, Equatable {
    /// The dimensions, channel count or pixel count cannot form an image
    /// (zero, negative, too large, or not matching each other).
    case invalidImage(String)
    /// libpng refused: the file, what was being done, and libpng's own message.
    case libpng(path: String, operation: String, message: String)
    /// The encoded PNG could not be written under its final name.
    case output(OutputFileError)

    public var description: String {
        switch self {
        case .invalidImage(let reason): "invalid image: \(reason)"
        case .libpng(let path, let operation, let message): "\(path): cannot \(operation) (libpng: \(message))"
        case .output(let error): error.description
        }
    }
}

/// An 8-bit image held in memory: rows top to bottom, pixels left to right,
/// channels interleaved (grey; grey + alpha; red, green, blue; or red, green,
/// blue, alpha). Values are sRGB-encoded bytes, exactly as stored in the PNG.
public struct PNGImage: Sendable, Equatable {
    /// Columns, at least 1.
    public let width: Int
    /// Rows, at least 1.
    public let height: Int
    /// 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// `height` x `width` x `channels` bytes, row-major, channels interleaved.
    public let pixels: [UInt8]

    /// The largest pixel buffer accepted, in bytes (1 GiB). Beyond this a
    /// PNG header is more likely hostile or corrupt than a real picture.
    public static let maximumByteCount = 1 << 30

    /// The most pixels on a side libpng accepts (its default user limits
    /// `PNG_USER_WIDTH_MAX` and `PNG_USER_HEIGHT_MAX`, 1,000,000, which
    /// `png_set_IHDR`'s `png_check_IHDR` applies when writing as well as
    /// reading; its other IHDR limits, 2^31 - 1 and the row size in bytes, are
    /// larger on a 64-bit machine, and `maximumByteCount` is smaller than them).
    public static let maximumSide = min(Int(PNG_USER_WIDTH_MAX), Int(PNG_USER_HEIGHT_MAX))

    /// Makes an image from its pixels; throws `PNGError.invalidImage` unless
    /// the sizes are positive, at most `maximumSide`, fit in `maximumByteCount`, and
    /// `pixels.count == width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws(PNGError) {
        let count = try PNGImage.byteCount(width: width, height: height, channels: channels)
        guard pixels.count == count else {
            throw .invalidImage("\(PNGImage.sizeText(width: width, height: height)) x \(channels) channel\(channels == 1 ? "" : "s") needs \(count) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The channel values of the pixel in column `x`, row `y` (0 is the top).
    /// - Precondition: `0 <= x < width` and `0 <= y < height`.
    public func pixel(x: Int, y: Int) -> [UInt8] {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width) x \(height)")
        let start = (y * width + x) * channels
        return Array(pixels[start..<start + channels])
    }

    /// "28 wide x 20 high": an image's size in every PNG message, saying which
    /// number is the width (columns) and which the height (rows).
    public static func sizeText(width: Int, height: Int) -> String { "\(width) wide x \(height) high" }

    /// `width * height * channels`, checked: every factor positive, no overflow,
    /// each side at most `maximumSide`, rows addressable by libpng (32-bit
    /// stride), total within `maximumByteCount`.
    public static func byteCount(width: Int, height: Int, channels: Int) throws(PNGError) -> Int {
        guard (1...4).contains(channels) else {
            throw .invalidImage("\(channels) channels; expected 1, 2, 3 or 4")
        }
        guard width > 0, height > 0 else {
            throw .invalidImage("size \(sizeText(width: width, height: height)); both must be at least 1")
        }
        guard width <= maximumSide, height <= maximumSide else {
            throw .invalidImage("size \(sizeText(width: width, height: height)): libpng writes and reads at most \(maximumSide) pixels on a side (PNG_USER_WIDTH_MAX, PNG_USER_HEIGHT_MAX)")
        }
        let (row, rowOverflow) = width.multipliedReportingOverflow(by: channels)
        let (total, totalOverflow) = row.multipliedReportingOverflow(by: height)
        guard !rowOverflow, !totalOverflow, row <= Int(Int32.max), total <= maximumByteCount else {
            throw .invalidImage("size \(sizeText(width: width, height: height)) x \(channels) channel\(channels == 1 ? "" : "s") exceeds \(maximumByteCount) bytes")
        }
        return total
    }

    // MARK: Writing

    /// Encodes the image with libpng's simplified API and writes it atomically
    /// (through `OutputFile`): a failure never leaves a partial file at `path`.
    public func write(to path: String) throws(PNGError) {
        let bytes = try encoded(nameForErrors: path)
        do {
            try OutputFile.write(bytes, to: path)
        } catch {
            throw .output(error)
        }
    }

    /// The PNG file's bytes (`path` names the file in errors):
    /// `png_image_write_to_memory` is called once with a NULL buffer for the size,
    /// then again with a buffer of that size.
    public func encoded(nameForErrors path: String) throws(PNGError) -> [UInt8] {
        // The size query and the real write need identical, fresh descriptions.
        func describe() -> png_image {
            var image = png_image()
            image.version = PNGImage.imageVersion
            image.width = png_uint_32(width)
            image.height = png_uint_32(height)
            image.format = PNGImage.format(channels: channels)
            return image
        }
        let stride = Int32(width * channels)  // checked against Int32.max in init
        var image = describe()
        var size: png_alloc_size_t = 0
        let sized = pixels.withUnsafeBytes { raw in
            png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, stride, nil)
        }
        png_image_free(&image)
        guard sized != 0, size > 0 else {
            throw .libpng(path: path, operation: "encode PNG", message: PNGImage.message(of: image))
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        image = describe()
        let written = bytes.withUnsafeMutableBytes { output in
            pixels.withUnsafeBytes { raw in
                png_image_write_to_memory(&image, output.baseAddress, &size, 0, raw.baseAddress, stride, nil)
            }
        }
        png_image_free(&image)
        guard written != 0, Int(size) <= bytes.count else {
            throw .libpng(path: path, operation: "encode PNG", message: PNGImage.message(of: image))
        }
        bytes.removeLast(bytes.count - Int(size))
        return bytes
    }

    // MARK: Reading

    /// Reads any PNG libpng accepts and converts it to 8-bit sRGB samples with
    /// libpng's simplified API. Grey files give 1 channel, grey + alpha 2,
    /// colour (including palette) files 3, and colour with alpha or
    /// transparency 4. 16-bit files are reduced to 8 bits by libpng.
    public static func read(contentsOf path: String) throws(PNGError) -> PNGImage {
        var image = png_image()
        image.version = imageVersion
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw .libpng(path: path, operation: "read PNG header", message: message(of: image))
        }
        // Keep the file's colour and alpha; drop 16-bit and colour-map flags.
        image.format &= formatColor | formatAlpha
        let channels = Int(image.format) + 1
        let width = Int(image.width), height = Int(image.height)
        let count: Int
        do {
            count = try byteCount(width: width, height: height, channels: channels)
        } catch {
            throw .libpng(path: path, operation: "read PNG", message: error.description)
        }
        var pixels = [UInt8](repeating: 0, count: count)
        let finished = pixels.withUnsafeMutableBytes { raw in
            png_image_finish_read(&image, nil, raw.baseAddress, Int32(width * channels), nil)
        }
        guard finished != 0 else {
            throw .libpng(path: path, operation: "read PNG", message: message(of: image))
        }
        return try PNGImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    // MARK: libpng constants and messages

    // From png.h; function-like and composed macros do not import into Swift.
    private static let imageVersion: png_uint_32 = 1  // PNG_IMAGE_VERSION
    private static let formatAlpha: png_uint_32 = 0x01  // PNG_FORMAT_FLAG_ALPHA
    private static let formatColor: png_uint_32 = 0x02  // PNG_FORMAT_FLAG_COLOR

    /// PNG_FORMAT_GRAY (0), _GA (1), _RGB (2) or _RGBA (3) for 1...4 channels.
    private static func format(channels: Int) -> png_uint_32 {
        png_uint_32(channels - 1)
    }

    /// libpng's message from a png_image (a NUL-terminated `char[64]`).
    private static func message(of image: png_image) -> String {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "unknown error" : text
    }
}
