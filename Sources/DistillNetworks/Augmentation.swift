import DistillNumerics
#if canImport(Glibc)
import Glibc
#endif

/// Differentiable-siamese-style augmentation (Zhao and Bilen 2021, DSA's `'S'` mode
/// as in `utils.py` of VICO-UoE/DatasetCondensation), restricted to crop, scale and
/// rotation (no flips: digits are not mirror-symmetric). For each batch one of the
/// three is drawn uniformly; each image then gets its own random parameters:
///
/// - crop: a shift by a whole number of pixels in `±round(0.125 · size)` in each
///   direction, the uncovered border filled with 0;
/// - scale: `x` and `y` stretched by factors uniform in `[1/1.2, 1.2]`;
/// - rotation: an angle uniform in `±15°`;
///
/// scale and rotation resample bilinearly about the centre with zeros outside
/// (PyTorch's `affine_grid` + `grid_sample`, `align_corners = false`). Images are
/// augmented after normalisation, so 0 is the mean pixel, as in DSA.
public struct Augmentation: Sendable, Equatable, Codable {
    public var cropRatio = 0.125
    public var scaleRatio = 1.2
    public var rotationDegrees = 15.0

    public init() {}

    enum Kind: CaseIterable { case crop, scale, rotate }

    /// Augments `count` images (rows of `channels x height x width`) in place.
    func apply(_ images: inout [Float], count: Int, channels: Int, height: Int, width: Int, random: inout SplitMix64) {
        let kind = Kind.allCases[Int(random.next() % 3)]
        let size = channels * height * width
        var source = [Float](repeating: 0, count: size)
        for i in 0..<count {
            let base = i * size
            for j in 0..<size { source[j] = images[base + j] }
            switch kind {
            case .crop:
                let sy = Int(Double(height) * cropRatio + 0.5), sx = Int(Double(width) * cropRatio + 0.5)
                let dy = Int(random.next() % UInt64(2 * sy + 1)) - sy
                let dx = Int(random.next() % UInt64(2 * sx + 1)) - sx
                for c in 0..<channels {
                    for y in 0..<height {
                        for x in 0..<width {
                            let (yy, xx) = (y + dy, x + dx)
                            let inside = yy >= 0 && yy < height && xx >= 0 && xx < width
                            images[base + (c * height + y) * width + x] = inside ? source[(c * height + yy) * width + xx] : 0
                        }
                    }
                }
            case .scale:
                let lo = 1 / scaleRatio
                let ax = lo + (scaleRatio - lo) * random.nextUniform()
                let ay = lo + (scaleRatio - lo) * random.nextUniform()
                resample(source, into: &images, at: base, channels: channels, height: height, width: width,
                         matrix: (ax, 0, 0, ay))
            case .rotate:
                let angle = (2 * random.nextUniform() - 1) * rotationDegrees * Double.pi / 180
                resample(source, into: &images, at: base, channels: channels, height: height, width: width,
                         matrix: (cos(angle), -sin(angle), sin(angle), cos(angle)))
            }
        }
    }

    /// Output pixel at normalised `(u, v)` ∈ [-1, 1]² takes the input at
    /// `(m00 u + m01 v, m10 u + m11 v)`, bilinearly, zeros outside.
    func resample(_ source: [Float], into out: inout [Float], at base: Int, channels: Int, height: Int, width: Int,
                          matrix m: (Double, Double, Double, Double)) {
        for y in 0..<height {
            let v = (2 * Double(y) + 1) / Double(height) - 1
            for x in 0..<width {
                let u = (2 * Double(x) + 1) / Double(width) - 1
                let su = m.0 * u + m.1 * v, sv = m.2 * u + m.3 * v
                let fx = ((su + 1) * Double(width) - 1) / 2, fy = ((sv + 1) * Double(height) - 1) / 2
                let x0 = Int(floor(fx)), y0 = Int(floor(fy))
                let wx = fx - Double(x0), wy = fy - Double(y0)
                for c in 0..<channels {
                    func pixel(_ yy: Int, _ xx: Int) -> Double {
                        guard yy >= 0 && yy < height && xx >= 0 && xx < width else { return 0 }
                        return Double(source[(c * height + yy) * width + xx])
                    }
                    let value = (1 - wy) * ((1 - wx) * pixel(y0, x0) + wx * pixel(y0, x0 + 1))
                        + wy * ((1 - wx) * pixel(y0 + 1, x0) + wx * pixel(y0 + 1, x0 + 1))
                    out[base + (c * height + y) * width + x] = Float(value)
                }
            }
        }
    }
}
