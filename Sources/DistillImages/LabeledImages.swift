/// The pixels of a set of images, image after image, each in height x width x
/// channels (HWC) order.
public enum ImagePixels: Sendable, Equatable {
    /// Unsigned bytes, as stored by 8-bit formats (MNIST's IDX files, PNG, CIFAR).
    case bytes([UInt8])
    /// Any other type, converted to Float; loaders guarantee they are finite.
    case floats([Float])

    /// The number of stored values.
    public var count: Int {
        switch self {
        case .bytes(let b): b.count
        case .floats(let f): f.count
        }
    }
}

/// The shape of one image: `height x width x channels`, stored in that order
/// (channels innermost). Grey images have 1 channel, colour images 3.
public struct ImageShape: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(height: Int, width: Int, channels: Int = 1) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// `height · width · channels`: the number of values of one image, the features a model sees.
    public var features: Int { height * width * channels }

    /// `28x28` for one channel, `32x32x3` otherwise.
    public var description: String { channels == 1 ? "\(height)x\(width)" : "\(height)x\(width)x\(channels)" }
}

/// A set of `count` images of one shape, with a class label for each.
///
/// The pixel values the model sees are `stored * scale`: 8-bit images stay bytes in
/// memory (exact, a quarter of the memory of `Float`) and `scale` is usually `1/255`;
/// floating-point images are kept as `Float` with `scale` 1.
///
/// Images are stored row-major, one image after another, each in HWC order: value
/// `k` of image `i` is element `i * features + k`.
public struct LabeledImages: Sendable {
    public typealias Pixels = ImagePixels

    public let pixels: ImagePixels
    public let scale: Float
    /// One class index per image, each in `0..<classes`.
    public let labels: [Int32]
    public let count: Int
    /// The shape of every image.
    public let shape: ImageShape
    public let classes: Int

    /// `shape.features`: the values of one image.
    public var features: Int { shape.features }

    /// Creates a labelled image set. The caller guarantees the shapes agree and every
    /// label lies in `0..<classes`; loaders validate their input before calling this
    /// (a violation is a programming error and traps).
    public init(pixels: ImagePixels, scale: Float, labels: [Int32], shape: ImageShape, classes: Int) {
        self.pixels = pixels
        self.scale = scale
        self.labels = labels
        self.count = labels.count
        self.shape = shape
        self.classes = classes
        precondition(pixels.count == labels.count * shape.features, "pixel count does not match labels x features")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classes }, "label out of range")
    }

    /// A set of flat images of `features` values (shape `1 x features x 1`).
    public init(pixels: ImagePixels, scale: Float, labels: [Int32], features: Int, classes: Int) {
        self.init(pixels: pixels, scale: scale, labels: labels,
                  shape: ImageShape(height: 1, width: features), classes: classes)
    }

    /// The pixel values of image `i` as the model sees them (stored value x scale).
    public func image(_ i: Int) -> [Double] {
        let range = (i * features)..<((i + 1) * features)
        switch pixels {
        case .bytes(let b): return b[range].map { Double($0) * Double(scale) }
        case .floats(let f): return f[range].map { Double($0) * Double(scale) }
        }
    }

    /// A new set holding the images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> LabeledImages {
        let newLabels = indices.map { labels[$0] }
        switch pixels {
        case .bytes(let b):
            var out = [UInt8](); out.reserveCapacity(indices.count * features)
            for i in indices { out.append(contentsOf: b[(i * features)..<((i + 1) * features)]) }
            return LabeledImages(pixels: .bytes(out), scale: scale, labels: newLabels, shape: shape, classes: classes)
        case .floats(let f):
            var out = [Float](); out.reserveCapacity(indices.count * features)
            for i in indices { out.append(contentsOf: f[(i * features)..<((i + 1) * features)]) }
            return LabeledImages(pixels: .floats(out), scale: scale, labels: newLabels, shape: shape, classes: classes)
        }
    }

    /// How many images each class `0..<classes` has.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }
}
