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
///
/// For colour images (HWC, `channels` > 1) r is taken over all `p = H·W·C`
/// values as above, and also per channel: `r_k(s, μ_c)` over the `H·W` values of
/// channel `k` alone, averaged over the images (`meanChannelCorrelations[k]`), so
/// that an image right in one colour and wrong in another is seen.
public struct Readability: Sendable, Equatable, Codable {
    /// Mean of r(s_j, μ_{c_j}) over the images.
    public var meanClassMeanCorrelation: Double
    /// Minimum of r(s_j, μ_{c_j}) over the images.
    public var minimumClassMeanCorrelation: Double
    /// The fraction of pixels `v` with `v < 0` or `v > 1`.
    public var pixelsOutsideUnitRange: Double
    /// For colour images, the mean over the images of the correlation of each
    /// channel alone with the same channel of the class mean (red, green, blue
    /// for 3 channels); nil for one channel.
    public var meanChannelCorrelations: [Double]?

    /// As JSON: `{"class_mean_correlation": {"mean": r̄, "min": r_min}, "pixels_outside_unit_range": f}`,
    /// plus `"channel_class_mean_correlation": [r̄_0, r̄_1, ...]` for colour images.
    enum CodingKeys: String, CodingKey {
        case classMeanCorrelation = "class_mean_correlation", pixelsOutsideUnitRange = "pixels_outside_unit_range"
        case channelClassMeanCorrelation = "channel_class_mean_correlation"
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
        meanChannelCorrelations = try container.decodeIfPresent([Double].self, forKey: .channelClassMeanCorrelation)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Correlation(mean: meanClassMeanCorrelation, min: minimumClassMeanCorrelation),
                             forKey: .classMeanCorrelation)
        try container.encode(pixelsOutsideUnitRange, forKey: .pixelsOutsideUnitRange)
        try container.encodeIfPresent(meanChannelCorrelations, forKey: .channelClassMeanCorrelation)
    }

    /// `images` (`m x p`) with their classes (`m` values in `0..<classMeans.rows`)
    /// against the class-mean images `classMeans` (`classes x p`); images of
    /// `channels` interleaved channels (HWC, `p` a multiple of `channels`).
    public init(images: Matrix, classes: [Int], classMeans: Matrix, channels: Int = 1) {
        precondition(images.rows == classes.count && images.columns == classMeans.columns,
                     "Readability: \(images.rows)x\(images.columns) images, \(classes.count) classes, means \(classMeans.rows)x\(classMeans.columns)")
        precondition(channels >= 1 && images.columns % channels == 0, "Readability: \(images.columns) values are not \(channels) channels")
        let p = images.columns
        var correlations: [Double] = []
        var channelSums = [Double](repeating: 0, count: channels)
        for (j, c) in classes.enumerated() {
            let image = Array(images.values[(j * p)..<((j + 1) * p)])
            let mean = Array(classMeans.values[(c * p)..<((c + 1) * p)])
            correlations.append(Self.pearsonCorrelation(image, mean))
            if channels > 1 {
                for k in 0..<channels {
                    let plane = stride(from: k, to: p, by: channels)
                    channelSums[k] += Self.pearsonCorrelation(plane.map { image[$0] }, plane.map { mean[$0] })
                }
            }
        }
        meanChannelCorrelations = channels > 1 ? channelSums.map { classes.isEmpty ? 0 : $0 / Double(classes.count) } : nil
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
