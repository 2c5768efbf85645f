/// How float pixel values become grey levels in an `ImageGrid`. Every mode
/// draws high values light: digits appear white on a black background, as
/// MNIST stores them (ink = 1.0).
///
/// In every mode NaN is treated as 0, +infinity and -infinity clamp to the
/// ends of the range, and rounding is to the nearest integer with halves
/// rounded away from zero.
public enum GreyScale: Sendable, Equatable {
    /// `grey = round(255 * clamp(v, 0, 1))`: 0 is black, 1 is white.
    /// For images in MNIST's pixel range [0, 1].
    case unitRange
    /// Each image scaled by its own largest magnitude `s = max |v|` (over its
    /// finite values): `grey = round(127.5 * (1 + v / s))`, so -s is black (0),
    /// 0 is mid-grey (128) and +s is white (255). An image that is all zero is
    /// mid-grey. For unbounded synthetic images, where the sign matters.
    case symmetricPerImage
    /// One scale for all images of the grid: `lo` and `hi` are the 1st and
    /// 99th percentiles of all their finite values (sorted ascending, the
    /// values at index `round(0.01 * (n - 1))` and `round(0.99 * (n - 1))`),
    /// and `grey = round(255 * (clamp(v, lo, hi) - lo) / (hi - lo))`: `lo` and
    /// below are black, `hi` and above white. If `hi == lo` every pixel is
    /// mid-grey (128). For comparing images on one scale despite outliers.
    case robustGlobal

    /// The separator grey `ImageGrid` uses unless told otherwise: mid-grey
    /// (128) for `unitRange` and `robustGlobal`, whose backgrounds are dark;
    /// white (255) for `symmetricPerImage`, whose backgrounds are mid-grey.
    public var defaultSeparatorGrey: UInt8 {
        self == .symmetricPerImage ? 255 : 128
    }
}

/// Renders equally sized float images as one picture: grey for images with
/// one channel, RGB for images with three (stored HWC: pixel after pixel,
/// each pixel's channels together, as `LabeledImages` stores them).
///
/// Each image is enlarged `scale` times (nearest neighbour: every pixel
/// becomes a `scale` x `scale` block). Cells are separated by `separator`
/// pixels of grey `separatorGrey`, with the same border around the outside,
/// so the picture is
///
///     width  = columns * imageWidth  * scale + (columns + 1) * separator
///     height = rows    * imageHeight * scale + (rows + 1)    * separator
///
/// pixels, plus `groupGap` more rows of separator between each group of
/// `groupRows` rows and the next (`(rows - 1) / groupRows * groupGap` in all;
/// none when `groupRows` is 0): `ClassLayout` sets classes apart so.
/// A cell with no image is filled with `separatorGrey` too. Leaving
/// `separatorGrey` nil picks `greyScale.defaultSeparatorGrey`. In colour,
/// every channel goes through the same `GreyScale` (one scale per image for
/// `symmetricPerImage`, over all its channels), and the separator is the
/// grey with all three channels at `separatorGrey`.
///
/// `ClassLayout` arranges images of several classes for the eye.
public enum ImageGrid {
    /// Renders `cells` (row-major grid order: cell `r * columns + c` is row
    /// `r`, column `c`), each `imageHeight * imageWidth * channels` values,
    /// row-major (HWC). A `nil` cell, and every cell past the end of
    /// `cells`, is left empty, which is how ragged classes are drawn.
    ///
    /// Throws `PNGError.invalidImage` when a size is not positive, `channels`
    /// is neither 1 nor 3, the picture would be too large, there are more
    /// cells than `rows * columns`, or an image has the wrong number of values.
    public static func render(
        cells: [[Float]?], imageWidth: Int, imageHeight: Int, channels: Int = 1, rows: Int, columns: Int,
        scale: Int = 4, separator: Int = 2, separatorGrey: UInt8? = nil,
        greyScale: GreyScale = .unitRange, groupRows: Int = 0, groupGap: Int = 0
    ) throws(PNGError) -> PNGImage {
        guard imageWidth > 0, imageHeight > 0, rows > 0, columns > 0, scale > 0, separator >= 0, groupRows >= 0, groupGap >= 0 else {
            throw .invalidImage("""
                grid of \(rows) x \(columns) images of \(imageWidth) x \(imageHeight) at scale \(scale) \
                with separator \(separator): sizes must be positive (separator at least 0)
                """)
        }
        guard channels == 1 || channels == 3 else {
            throw .invalidImage("images of \(channels) channels: expected 1 (grey) or 3 (RGB)")
        }
        let valuesPerImage = try checkedProduct(try checkedProduct(imageWidth, imageHeight), channels)
        guard cells.count <= (try checkedProduct(rows, columns)) else {
            throw .invalidImage("\(cells.count) images do not fit a grid of \(rows) x \(columns)")
        }
        for (index, cell) in cells.enumerated() {
            if let cell, cell.count != valuesPerImage {
                throw .invalidImage("image \(index) has \(cell.count) values, expected \(imageWidth) x \(imageHeight) x \(channels)")
            }
        }
        let cellWidth = try checkedProduct(imageWidth, scale)
        let cellHeight = try checkedProduct(imageHeight, scale)
        let width = try checkedSum(try checkedProduct(columns, cellWidth), try checkedProduct(try checkedSum(columns, 1), separator))
        let groupGaps = groupRows > 0 ? try checkedProduct((rows - 1) / groupRows, groupGap) : 0
        let height = try checkedSum(try checkedSum(try checkedProduct(rows, cellHeight), try checkedProduct(try checkedSum(rows, 1), separator)),
                                    groupGaps)
        _ = try PNGImage.byteCount(width: width, height: height, channels: channels)

        let map = GreyMap(greyScale, images: cells.compactMap { $0 })
        var pixels = [UInt8](repeating: separatorGrey ?? greyScale.defaultSeparatorGrey, count: width * height * channels)
        for (index, cell) in cells.enumerated() {
            guard let cell else { continue }
            let grey = map.greys(for: cell)
            let left = separator + (index % columns) * (cellWidth + separator)
            let gridRow = index / columns
            let top = separator + gridRow * (cellHeight + separator) + (groupRows > 0 ? gridRow / groupRows * groupGap : 0)
            for y in 0..<cellHeight {
                let source = (y / scale) * imageWidth
                let row = ((top + y) * width + left) * channels
                for x in 0..<cellWidth {
                    let from = (source + x / scale) * channels, to = row + x * channels
                    for c in 0..<channels { pixels[to + c] = grey[from + c] }
                }
            }
        }
        return try PNGImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Renders `count` images stored one after another in `images`
    /// (`count * imageHeight * imageWidth * channels` values, image-major,
    /// each HWC), filling the grid row by row; the cells after the last image
    /// stay empty. Other parameters as in `render(cells:...)`; also throws if
    /// `images.count` is not a whole number of images.
    public static func render(
        images: [Float], imageWidth: Int, imageHeight: Int, channels: Int = 1, rows: Int, columns: Int,
        scale: Int = 4, separator: Int = 2, separatorGrey: UInt8? = nil,
        greyScale: GreyScale = .unitRange
    ) throws(PNGError) -> PNGImage {
        let cells = try split(images, imageWidth: imageWidth, imageHeight: imageHeight, channels: channels)
        return try render(
            cells: cells, imageWidth: imageWidth, imageHeight: imageHeight, channels: channels, rows: rows, columns: columns,
            scale: scale, separator: separator, separatorGrey: separatorGrey, greyScale: greyScale)
    }

    /// Renders images ordered by class (`classes` blocks of `perClass`
    /// images, one after another in `images`) in `layout`'s arrangement, its
    /// classes `layout.classGap` pixels further apart when they run down; see
    /// `ClassLayout`. Other parameters as in `render(cells:...)`.
    public static func render(
        images: [Float], imageWidth: Int, imageHeight: Int, channels: Int = 1, layout: ClassLayout,
        scale: Int = 4, separator: Int = 2, separatorGrey: UInt8? = nil,
        greyScale: GreyScale = .unitRange
    ) throws(PNGError) -> PNGImage {
        let images = try split(images, imageWidth: imageWidth, imageHeight: imageHeight, channels: channels)
        guard images.count == layout.classes * layout.perClass else {
            throw .invalidImage("\(images.count) images are not \(layout.classes) classes of \(layout.perClass)")
        }
        var cells = [[Float]?](repeating: nil, count: layout.rows * layout.columns)
        for (index, image) in images.enumerated() {
            let cell = layout.cell(class: index / layout.perClass, image: index % layout.perClass)
            cells[cell.row * layout.columns + cell.column] = image
        }
        return try render(
            cells: cells, imageWidth: imageWidth, imageHeight: imageHeight, channels: channels,
            rows: layout.rows, columns: layout.columns,
            scale: scale, separator: separator, separatorGrey: separatorGrey, greyScale: greyScale,
            groupRows: layout.classesAcross ? 0 : layout.rowsPerClass, groupGap: layout.classGap)
    }

    private static func split(_ images: [Float], imageWidth: Int, imageHeight: Int, channels: Int) throws(PNGError) -> [[Float]?] {
        let valuesPerImage = try checkedProduct(try checkedProduct(imageWidth, imageHeight), max(1, channels))
        guard valuesPerImage > 0, images.count % valuesPerImage == 0 else {
            throw .invalidImage("\(images.count) values are not a whole number of \(imageWidth) x \(imageHeight) x \(channels) images")
        }
        return stride(from: 0, to: images.count, by: valuesPerImage).map { Array(images[$0..<$0 + valuesPerImage]) }
    }

    private static func checkedProduct(_ a: Int, _ b: Int) throws(PNGError) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw .invalidImage("size \(a) x \(b) overflows") }
        return product
    }

    private static func checkedSum(_ a: Int, _ b: Int) throws(PNGError) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw .invalidImage("size \(a) + \(b) overflows") }
        return sum
    }
}

/// How a grid arranges `classes` classes of `perClass` images each, for the
/// eye, at most `maxColumns` across:
///
/// - one image per class: one row with the classes across, wrapping every
///   `maxColumns` classes (10 classes: 1 x 10; 100 classes: 10 x 10);
/// - several: one row per class, its images across; a class with more than
///   `maxColumns` images wraps onto further rows, and the next class starts
///   on a new row, `classGap` pixels further down than the grid's separator
///   alone would put it (so that the classes stand apart).
public struct ClassLayout: Sendable, Equatable {
    public let classes: Int, perClass: Int, maxColumns: Int
    /// Extra pixels of separator between one class's rows and the next's when
    /// the classes run down; unused when they run across.
    public let classGap: Int

    /// Clamps every count to at least 1 and `classGap` to at least 0.
    public init(classes: Int, perClass: Int, maxColumns: Int = 10, classGap: Int = 0) {
        self.classes = max(1, classes); self.perClass = max(1, perClass); self.maxColumns = max(1, maxColumns)
        self.classGap = max(0, classGap)
    }

    /// The pixels the class gaps add to the grid's height: `(classes - 1) * classGap`
    /// when the classes run down, else 0.
    public var classGapsHeight: Int { classesAcross ? 0 : (classes - 1) * classGap }

    /// Whether the classes run across (one image per class) rather than down.
    public var classesAcross: Bool { perClass == 1 }

    /// Rows a class takes when the classes run down.
    public var rowsPerClass: Int { (perClass + maxColumns - 1) / maxColumns }

    public var columns: Int { classesAcross ? min(classes, maxColumns) : min(perClass, maxColumns) }

    public var rows: Int { classesAcross ? (classes + maxColumns - 1) / maxColumns : classes * rowsPerClass }

    /// The grid cell of image `image` of class `class`.
    public func cell(class index: Int, image: Int) -> (row: Int, column: Int) {
        if classesAcross { return (index / maxColumns, index % maxColumns) }
        return (index * rowsPerClass + image / maxColumns, image % maxColumns)
    }
}

/// A `GreyScale` made concrete for one grid (the global range of
/// `robustGlobal` is computed once, up front).
private struct GreyMap {
    let scale: GreyScale
    let low: Float, high: Float

    init(_ scale: GreyScale, images: [[Float]]) {
        self.scale = scale
        guard scale == .robustGlobal else { low = 0; high = 1; return }
        let sorted = images.joined().filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { low = 0; high = 0; return }
        func percentile(_ p: Float) -> Float {
            sorted[Int((p * Float(sorted.count - 1)).rounded())]
        }
        low = percentile(0.01)
        high = percentile(0.99)
    }

    /// One image's grey levels, as documented on `GreyScale`.
    func greys(for image: [Float]) -> [UInt8] {
        let image = image.map { $0.isNaN ? 0 : $0 }
        switch scale {
        case .unitRange:
            return image.map { GreyMap.byte(255 * $0) }
        case .symmetricPerImage:
            // With s == 0 the image holds only zeros (mid-grey) and infinities (the ends).
            let s = image.reduce(Float(0)) { $1.isFinite ? max($0, abs($1)) : $0 }
            return image.map { GreyMap.byte(127.5 * (1 + (s > 0 ? $0 / s : $0))) }
        case .robustGlobal:
            guard high > low else { return [UInt8](repeating: 128, count: image.count) }
            return image.map { GreyMap.byte(255 * (min(max($0, low), high) - low) / (high - low)) }
        }
    }

    /// `round(value)` clamped to 0...255, NaN as 0.
    private static func byte(_ value: Float) -> UInt8 {
        if value.isNaN { return 0 }
        return UInt8(min(max(value, 0), 255).rounded())
    }
}
