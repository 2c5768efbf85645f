import DistillNumerics

/// The augmentation a network's training batches get: DSA's (`Augmentation`, one
/// operation per batch, bilinear) or DC's own MNIST one (`DCAugmentation`, one
/// operation per image). In JSON an object whose `kind` is `"dsa"` or `"dc"`, with
/// every parameter beside it; an object without `kind` (results written before DC's
/// augmentation existed) is DSA's.
public enum TrainingAugmentation: Sendable, Equatable {
    case dsa(Augmentation)
    case dc(DCAugmentation)

    /// `"dsa"` or `"dc"`.
    public var kind: String {
        switch self {
        case .dsa: return "dsa"
        case .dc: return "dc"
        }
    }

    /// Augments `count` images (rows of `channels x height x width`, normalised) in place.
    func apply(_ images: inout [Float], count: Int, channels: Int, height: Int, width: Int, random: inout SplitMix64) {
        switch self {
        case .dsa(let a): a.apply(&images, count: count, channels: channels, height: height, width: width, random: &random)
        case .dc(let a): a.apply(&images, count: count, channels: channels, height: height, width: width, random: &random)
        }
    }
}

extension TrainingAugmentation: Codable {
    enum CodingKeys: String, CodingKey {
        case kind, choice, cropPixels = "crop_pixels", cropFill = "crop_fill", scale, scaleInterpolation = "scale_interpolation",
             scaleFill = "scale_fill", rotationDegrees = "rotation_degrees", rotationInterpolation = "rotation_interpolation",
             rotationFill = "rotation_fill"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decodeIfPresent(String.self, forKey: .kind) ?? "dsa" {
        case "dsa": self = .dsa(try Augmentation(from: decoder))
        case "dc":
            var a = DCAugmentation()
            a.cropPixels = try c.decode(Int.self, forKey: .cropPixels)
            a.scale = try c.decode(Double.self, forKey: .scale)
            a.rotationDegrees = try c.decode(Int.self, forKey: .rotationDegrees)
            self = .dc(a)
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "expected \"dsa\" or \"dc\", found \"\(other)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        switch self {
        case .dsa(let a):
            try c.encode("one of crop, scale, rotation per batch", forKey: .choice)
            try a.encode(to: encoder)
        case .dc(let a):
            try c.encode("one of crop, scale, rotation per image", forKey: .choice)
            try c.encode(a.cropPixels, forKey: .cropPixels)
            try c.encode("the batch's per-channel mean", forKey: .cropFill)
            try c.encode(a.scale, forKey: .scale)
            try c.encode("nearest", forKey: .scaleInterpolation)
            try c.encode(0, forKey: .scaleFill)
            try c.encode(a.rotationDegrees, forKey: .rotationDegrees)
            try c.encode("cubic B-spline (scipy.ndimage order 3, mode constant), integer angles", forKey: .rotationInterpolation)
            try c.encode("the mean of the batch's per-channel means", forKey: .rotationFill)
        }
    }
}
