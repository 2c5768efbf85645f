/// Images for a network: `count` rows of `height x width x channels` pixel values
/// as the model sees them (HWC order, the order of `LabeledImages`), as Float.
public struct NetworkImages: Sendable, Equatable {
    public let pixels: [Float]
    public let count: Int
    public let height: Int
    public let width: Int
    public let channels: Int

    /// - Throws: `NetworkEvaluationError.shape` when `pixels` is not `count x height·width·channels`.
    public init(pixels: [Float], count: Int, height: Int, width: Int, channels: Int) throws {
        guard count >= 0, height > 0, width > 0, channels > 0, pixels.count == count * height * width * channels else {
            throw NetworkEvaluationError.shape(
                "images: expected \(count) x \(height)x\(width)x\(channels) = \(max(0, count * height * width * channels)) pixel values, found \(pixels.count)")
        }
        self.pixels = pixels
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var features: Int { height * width * channels }

    /// Rows in the network's order (channel-major, `c, y, x`), each pixel `(v - mean_c) / std_c`.
    func normalised(mean: [Double], std: [Double]) -> [Float] {
        let (h, w, c) = (height, width, channels)
        var out = [Float](repeating: 0, count: pixels.count)
        let scale = (0..<c).map { Float(1 / std[$0]) }, shift = (0..<c).map { Float(mean[$0]) }
        for i in 0..<count {
            let base = i * features
            for y in 0..<h {
                for x in 0..<w {
                    for k in 0..<c {
                        out[base + (k * h + y) * w + x] = (pixels[base + (y * w + x) * c + k] - shift[k]) * scale[k]
                    }
                }
            }
        }
        return out
    }
}

/// The labels a network is trained on.
public enum NetworkLabels: Sendable, Equatable {
    /// One class id in `0..<classes` per image: one-hot targets, cross-entropy.
    case classes([Int32])
    /// Learned label rows, `count x classes` row-major: the protocol's soft-label loss.
    case soft([Float])
}

/// Why an evaluation could not run; `description` is one line naming what was
/// expected and what was found.
public enum NetworkEvaluationError: Error, Equatable, CustomStringConvertible {
    case shape(String)
    case labels(String)
    case settings(String)

    public var description: String {
        switch self {
        case .shape(let s), .labels(let s), .settings(let s): return s
        }
    }
}
