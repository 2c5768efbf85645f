import DistillImages
import DistillNumerics

// The one place DistillNetworks reads `LabeledImages` (it will move to DistillImages).

extension NetworkImages {
    /// A labelled set's pixels as the model sees them (stored value x scale), with
    /// the image shape given (`LabeledImages` does not carry it yet).
    /// - Throws: `NetworkEvaluationError.shape` when `height·width·channels` is not the set's `features`.
    public init(_ images: LabeledImages, height: Int, width: Int, channels: Int) throws {
        guard height * width * channels == images.features else {
            throw NetworkEvaluationError.shape(
                "images: expected \(height)x\(width)x\(channels) = \(height * width * channels) pixels per image, found \(images.features)")
        }
        let pixels: [Float]
        switch images.pixels {
        case .bytes(let b): pixels = b.map { Float($0) * images.scale }
        case .floats(let f): pixels = images.scale == 1 ? f : f.map { $0 * images.scale }
        }
        try self.init(pixels: pixels, count: images.count, height: height, width: width, channels: channels)
    }
}

extension NetworkEvaluation {
    /// `evaluate` with a labelled training set (hard labels) and test set.
    public static func evaluate(train: LabeledImages, test: LabeledImages, height: Int, width: Int, channels: Int,
                                network: NetworkSpec, protocol settings: TrainingProtocol = TrainingProtocol(),
                                seeds: [UInt64], threads: Int = ProcessInfoThreads.count) throws -> NetworkEvaluationResult {
        try evaluate(train: NetworkImages(train, height: height, width: width, channels: channels),
                     labels: .classes(train.labels),
                     test: NetworkImages(test, height: height, width: width, channels: channels),
                     testLabels: test.labels, classes: max(train.classes, test.classes),
                     network: network, protocol: settings, seeds: seeds, threads: threads)
    }
}
