import DistillNumerics
#if canImport(Glibc)
import Glibc
#endif

/// DC's own MNIST augmentation (Zhao, Mopuri and Bilen 2021, `augment` with
/// `get_daparam('MNIST', ...)` in `utils.py` of VICO-UoE/DatasetCondensation, the
/// augmentation DC's evaluation uses when not in DSA mode): for *each image* one of
/// crop, scale and rotation is drawn uniformly, with its own random parameters:
///
/// - crop: the image padded by `cropPixels` on every side with the batch's
///   per-channel mean, then a window of the original size whose corner lies at a
///   uniform row and column in `0..<2·cropPixels` of the padded image (DC draws
///   `permutation(2·crop)[0]`, so shifts run from `-crop` to `crop - 1`);
/// - scale: the image resized to `h x w`, `h = Int(u·height)`, `w = Int(u'·width)`
///   with `u, u'` uniform in `[1 - scale, 1 + scale)`, by nearest neighbour
///   (PyTorch's `F.interpolate` default: source index `floor(i · in/out)` in
///   Float), centred in a zero square of side `max(h, w, height, width)` and
///   cropped back to `height x width` about the centre (integer halves rounded down);
/// - rotation: by an integer angle uniform in `-rotationDegrees..<rotationDegrees`
///   with `scipy.ndimage.rotate`'s geometry (output enlarged to hold the whole
///   rotated image, then cropped back about the centre) and its default
///   interpolation, the cubic B-spline (order 3, prefiltered with mirror
///   boundaries, `mode='constant'`: points outside the input take the fill), the
///   fill being the mean of the batch's per-channel means.
///
/// The batch means are taken before any image of the batch is changed, as DC does.
/// Images are augmented after normalisation, as in DC (its loader normalises).
/// DC's `noise` parameter (0.001) belongs to strategies MNIST does not use, so it
/// is not part of this type. Rotation follows scipy's sign: a positive angle
/// turns the image counter-clockwise as displayed (row 0 at the top), 90° being
/// NumPy's `rot90`.
public struct DCAugmentation: Sendable, Equatable {
    /// Pixels of padding for the crop (DC's MNIST value 4).
    public var cropPixels = 4
    /// Scale factors are uniform in `[1 - scale, 1 + scale)` (DC's 0.2).
    public var scale = 0.2
    /// Integer angles uniform in `-rotationDegrees..<rotationDegrees` (DC's 45).
    public var rotationDegrees = 45

    public init() {}

    enum Kind: CaseIterable { case crop, scale, rotate }

    /// Augments `count` images (rows of `channels x height x width`) in place and
    /// returns the operation drawn for each image.
    @discardableResult
    func apply(_ images: inout [Float], count: Int, channels: Int, height: Int, width: Int,
               random: inout SplitMix64) -> [Kind] {
        let size = channels * height * width, plane = height * width
        var means = [Double](repeating: 0, count: channels)
        for i in 0..<count {
            for c in 0..<channels {
                var sum = 0.0
                for j in 0..<plane { sum += Double(images[i * size + c * plane + j]) }
                means[c] += sum
            }
        }
        for c in 0..<channels { means[c] /= Double(max(1, count * plane)) }
        let rotationFill = means.reduce(0, +) / Double(max(1, channels))
        var kinds: [Kind] = []
        kinds.reserveCapacity(count)
        for i in 0..<count {
            let kind = Kind.allCases[Int(random.next() % 3)]
            kinds.append(kind)
            let image = Array(images[(i * size)..<((i + 1) * size)])
            let out: [Float]
            switch kind {
            case .crop:
                let span = UInt64(max(1, 2 * cropPixels))
                let row = Int(random.next() % span), column = Int(random.next() % span)
                out = Self.crop(image, channels: channels, height: height, width: width, pad: cropPixels,
                                row: row, column: column, fill: means)
            case .scale:
                let h = Int((1 - scale + 2 * scale * random.nextUniform()) * Double(height))
                let w = Int((1 - scale + 2 * scale * random.nextUniform()) * Double(width))
                out = Self.scale(image, channels: channels, height: height, width: width, toHeight: h, toWidth: w)
            case .rotate:
                let span = UInt64(max(1, 2 * rotationDegrees))
                let angle = Int(random.next() % span) - rotationDegrees
                out = Self.rotate(image, channels: channels, height: height, width: width, degrees: angle,
                                  fill: rotationFill)
            }
            for j in 0..<size { images[i * size + j] = out[j] }
        }
        return kinds
    }

    /// The `height x width` window at (`row`, `column`) of the image padded by `pad`
    /// on every side with `fill[c]` in channel `c`.
    static func crop(_ image: [Float], channels: Int, height: Int, width: Int, pad: Int, row: Int, column: Int,
                     fill: [Double]) -> [Float] {
        var out = [Float](repeating: 0, count: image.count)
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let (sy, sx) = (y + row - pad, x + column - pad)
                    let inside = sy >= 0 && sy < height && sx >= 0 && sx < width
                    out[(c * height + y) * width + x] = inside ? image[(c * height + sy) * width + sx] : Float(fill[c])
                }
            }
        }
        return out
    }

    /// The image resized to `toHeight x toWidth` by nearest neighbour, centred in a
    /// zero square of side `max(toHeight, toWidth, height, width)`, and the centred
    /// `height x width` window of that square.
    static func scale(_ image: [Float], channels: Int, height: Int, width: Int, toHeight h: Int, toWidth w: Int) -> [Float] {
        var out = [Float](repeating: 0, count: image.count)
        guard h >= 1, w >= 1 else { return out }
        let side = max(h, w, height, width)
        let (top, left) = ((side - h) / 2, (side - w) / 2)
        let (cropTop, cropLeft) = ((side - height) / 2, (side - width) / 2)
        let rowScale = Float(height) / Float(h), columnScale = Float(width) / Float(w)
        for c in 0..<channels {
            for y in 0..<height {
                let ty = y + cropTop - top
                guard ty >= 0 && ty < h else { continue }
                let sy = min(Int((Float(ty) * rowScale).rounded(.down)), height - 1)
                for x in 0..<width {
                    let tx = x + cropLeft - left
                    guard tx >= 0 && tx < w else { continue }
                    let sx = min(Int((Float(tx) * columnScale).rounded(.down)), width - 1)
                    out[(c * height + y) * width + x] = image[(c * height + sy) * width + sx]
                }
            }
        }
        return out
    }

    /// `scipy.ndimage.rotate(image, degrees, axes=(-2, -1), cval=fill)` (reshape,
    /// order 3, mode 'constant'), then its centred `height x width` window.
    static func rotate(_ image: [Float], channels: Int, height: Int, width: Int, degrees: Int, fill: Double) -> [Float] {
        let (cosine, sine) = exactCosineSine(degrees: degrees)
        // scipy's matrix maps output (row, column) to input (row, column).
        let m = (cosine, sine, -sine, cosine)
        let rowsOut = [0.0, 0, Double(height), Double(height)], columnsOut = [0.0, Double(width), 0, Double(width)]
        let boundRows = (0..<4).map { m.0 * rowsOut[$0] + m.1 * columnsOut[$0] }
        let boundColumns = (0..<4).map { m.2 * rowsOut[$0] + m.3 * columnsOut[$0] }
        let outHeight = Int(boundRows.max()! - boundRows.min()! + 0.5)
        let outWidth = Int(boundColumns.max()! - boundColumns.min()! + 0.5)
        let (outCentreRow, outCentreColumn) = (Double(outHeight - 1) / 2, Double(outWidth - 1) / 2)
        let offsetRow = Double(height - 1) / 2 - (m.0 * outCentreRow + m.1 * outCentreColumn)
        let offsetColumn = Double(width - 1) / 2 - (m.2 * outCentreRow + m.3 * outCentreColumn)
        // Python's int() of a non-negative half, as DC crops; for a non-square image the
        // window may reach past the enlarged output, where the same formula goes on.
        let top = Int(Double(outHeight - height) / 2), left = Int(Double(outWidth - width) / 2)
        var out = [Float](repeating: 0, count: image.count)
        for c in 0..<channels {
            let plane = (0..<(height * width)).map { Double(image[c * height * width + $0]) }
            let coefficients = CubicBSpline.coefficients(plane, height: height, width: width)
            for y in 0..<height {
                for x in 0..<width {
                    let (r, q) = (Double(y + top), Double(x + left))
                    let sourceRow = m.0 * r + m.1 * q + offsetRow
                    let sourceColumn = m.2 * r + m.3 * q + offsetColumn
                    let value = CubicBSpline.value(coefficients, height: height, width: width,
                                                   row: sourceRow, column: sourceColumn) ?? fill
                    out[(c * height + y) * width + x] = Float(value)
                }
            }
        }
        return out
    }

    /// Cosine and sine of whole degrees, exact at multiples of 90° (as `scipy.special.cosdg`/`sindg`).
    static func exactCosineSine(degrees: Int) -> (Double, Double) {
        let a = ((degrees % 360) + 360) % 360
        switch a {
        case 0: return (1, 0)
        case 90: return (0, 1)
        case 180: return (-1, 0)
        case 270: return (0, -1)
        default:
            let radians = Double(a) * Double.pi / 180
            return (cos(radians), sin(radians))
        }
    }
}

/// Interpolation by the cubic B-spline, as `scipy.ndimage` does at order 3 with
/// `mode='constant'`: the samples are turned into spline coefficients by the
/// recursive prefilter with mirror-symmetric boundaries (Unser 1999, "Splines: a
/// perfect fit for signal and image processing", pole `√3 - 2`), the spline is
/// evaluated with mirrored coefficients, and a point outside `[0, n - 1]` on
/// either axis has no value (the caller's fill).
enum CubicBSpline {
    static let pole = 3.0.squareRoot() - 2

    /// The coefficients of a `height x width` plane (row-major), filtered along rows then columns.
    static func coefficients(_ plane: [Double], height: Int, width: Int) -> [Double] {
        var c = plane
        var line = [Double](repeating: 0, count: max(height, width))
        for y in 0..<height {
            for x in 0..<width { line[x] = c[y * width + x] }
            filter(&line, count: width)
            for x in 0..<width { c[y * width + x] = line[x] }
        }
        for x in 0..<width {
            for y in 0..<height { line[y] = c[y * width + x] }
            filter(&line, count: height)
            for y in 0..<height { c[y * width + x] = line[y] }
        }
        return c
    }

    /// The causal and anti-causal recursions in place on `line[0..<count]`, mirror boundaries.
    static func filter(_ line: inout [Double], count n: Int) {
        guard n > 1 else { return }
        let z = pole
        for k in 0..<n { line[k] *= (1 - z) * (1 - 1 / z) }
        // Causal start: the exact sum over one period (2n - 2) of the mirrored line.
        var sum = 0.0, power = 1.0
        for k in 0..<(2 * n - 2) {
            sum += power * line[k < n ? k : 2 * n - 2 - k]
            power *= z
        }
        line[0] = sum / (1 - power)
        for k in 1..<n { line[k] += z * line[k - 1] }
        line[n - 1] = z / (z * z - 1) * (line[n - 1] + z * line[n - 2])
        for k in stride(from: n - 2, through: 0, by: -1) { line[k] = z * (line[k + 1] - line[k]) }
    }

    /// The spline's value at (`row`, `column`), or nil outside `[0, height - 1] x [0, width - 1]`.
    static func value(_ c: [Double], height: Int, width: Int, row: Double, column: Double) -> Double? {
        guard row >= 0, row <= Double(height - 1), column >= 0, column <= Double(width - 1) else { return nil }
        let y0 = Int(row.rounded(.down)), x0 = Int(column.rounded(.down))
        var total = 0.0
        for j in (y0 - 1)...(y0 + 2) {
            let wy = weight(row - Double(j))
            if wy == 0 { continue }
            let yy = mirror(j, height)
            for i in (x0 - 1)...(x0 + 2) {
                let wx = weight(column - Double(i))
                if wx == 0 { continue }
                total += wy * wx * c[yy * width + mirror(i, width)]
            }
        }
        return total
    }

    /// The cubic B-spline at `t`.
    static func weight(_ t: Double) -> Double {
        let a = abs(t)
        if a < 1 { return 2.0 / 3 - a * a + a * a * a / 2 }
        if a < 2 { return (2 - a) * (2 - a) * (2 - a) / 6 }
        return 0
    }

    /// Index `i` reflected about the end samples into `0..<n` (period `2n - 2`).
    static func mirror(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let period = 2 * n - 2
        let k = ((i % period) + period) % period
        return k < n ? k : period - k
    }
}
