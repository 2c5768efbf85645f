import DistillNumerics

/// How much a set of synthetic images looks like real images of their classes.
///
/// For image `s` of class `c` with class-mean training image `μ_c` (both `p` pixels),
/// the Pearson correlation
///
///     r(s, μ_c) = Σ_q (s_q - s̄)(μ_q - μ̄) / √(Σ_q (s_q - s̄)² · Σ_q (μ_q - μ̄)²)
///
/// (0 when either image is constant), summarised by its mean and minimum over
/// the images; and the fraction of all pixels outside [0, 1]. On MNIST, images
/// with r ≥ 0.92 read as digits and r ≤ 0.83 did not (issue 3).
public struct Readability: Sendable, Equatable, Codable {
    /// Mean of r(s_j, μ_{c_j}) over the images.
    public var meanClassMeanCorrelation: Double
    /// Minimum of r(s_j, μ_{c_j}) over the images.
    public var minimumClassMeanCorrelation: Double
    /// The fraction of pixels `v` with `v < 0` or `v > 1`.
    public var pixelsOutsideUnitRange: Double

    /// As JSON: `{"class_mean_correlation": {"mean": r̄, "min": r_min}, "pixels_outside_unit_range": f}`.
    enum CodingKeys: String, CodingKey {
        case classMeanCorrelation = "class_mean_correlation", pixelsOutsideUnitRange = "pixels_outside_unit_range"
    }

    private struct Correlation: Codable {
        var mean: Double
        var min: Double
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let correlation = try container.decode(Correlation.self, forKey: .classMeanCorrelation)
        meanClassMeanCorrelation = correlation.mean
        minimumClassMeanCorrelation = correlation.min
        pixelsOutsideUnitRange = try container.decode(Double.self, forKey: .pixelsOutsideUnitRange)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Correlation(mean: meanClassMeanCorrelation, min: minimumClassMeanCorrelation),
                             forKey: .classMeanCorrelation)
        try container.encode(pixelsOutsideUnitRange, forKey: .pixelsOutsideUnitRange)
    }

    /// `images` (`m x p`) with their classes (`m` values in `0..<classMeans.rows`)
    /// against the class-mean images `classMeans` (`classes x p`).
    public init(images: Matrix, classes: [Int], classMeans: Matrix) {
        precondition(images.rows == classes.count && images.columns == classMeans.columns,
                     "Readability: \(images.rows)x\(images.columns) images, \(classes.count) classes, means \(classMeans.rows)x\(classMeans.columns)")
        let p = images.columns
        var correlations: [Double] = []
        for (j, c) in classes.enumerated() {
            let image = Array(images.values[(j * p)..<((j + 1) * p)])
            let mean = Array(classMeans.values[(c * p)..<((c + 1) * p)])
            correlations.append(Self.pearsonCorrelation(image, mean))
        }
        meanClassMeanCorrelation = correlations.isEmpty ? 0 : correlations.reduce(0, +) / Double(correlations.count)
        minimumClassMeanCorrelation = correlations.min() ?? 0
        let outside = images.values.reduce(0) { $0 + ($1 < 0 || $1 > 1 ? 1 : 0) }
        pixelsOutsideUnitRange = images.values.isEmpty ? 0 : Double(outside) / Double(images.values.count)
    }

    /// Pearson's r of two equally long vectors; 0 when either is constant.
    public static func pearsonCorrelation(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "pearsonCorrelation: \(a.count) vs \(b.count) values")
        guard !a.isEmpty else { return 0 }
        let n = Double(a.count)
        let meanA = a.reduce(0, +) / n, meanB = b.reduce(0, +) / n
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in a.indices {
            let da = a[i] - meanA, db = b[i] - meanB
            ab += da * db
            aa += da * da
            bb += db * db
        }
        let denominator = (aa * bb).squareRoot()
        return denominator > 0 ? ab / denominator : 0
    }
}
