/// A set of `count` images of `features` pixels each, with a class label for each.
///
/// The pixel values the model sees are `stored * scale`: 8-bit images stay bytes in
/// memory (exact, a quarter of the memory of `Float`) and `scale` is usually `1/255`;
/// floating-point images are kept as `Float` with `scale` 1.
///
/// Images are stored row-major, one image after another: pixel `k` of image `i` is
/// element `i * features + k`.
public struct LabeledImages: Sendable {
    public enum Pixels: Sendable {
        case bytes([UInt8])
        case floats([Float])
    }

    public let pixels: Pixels
    public let scale: Float
    public let labels: [Int32]
    public let count: Int
    public let features: Int
    public let classes: Int

    /// Creates a labelled image set. The caller guarantees the shapes agree and every
    /// label lies in `0..<classes`; loaders validate their input before calling this.
    public init(pixels: Pixels, scale: Float, labels: [Int32], features: Int, classes: Int) {
        self.pixels = pixels
        self.scale = scale
        self.labels = labels
        self.count = labels.count
        self.features = features
        self.classes = classes
        switch pixels {
        case .bytes(let b): precondition(b.count == labels.count * features, "pixel count does not match labels x features")
        case .floats(let f): precondition(f.count == labels.count * features, "pixel count does not match labels x features")
        }
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classes }, "label out of range")
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
            return LabeledImages(pixels: .bytes(out), scale: scale, labels: newLabels, features: features, classes: classes)
        case .floats(let f):
            var out = [Float](); out.reserveCapacity(indices.count * features)
            for i in indices { out.append(contentsOf: f[(i * features)..<((i + 1) * features)]) }
            return LabeledImages(pixels: .floats(out), scale: scale, labels: newLabels, features: features, classes: classes)
        }
    }
}
