import Dispatch

/// The test accuracy of networks trained from scratch on an image set, one per
/// seed, with keys `network`, `protocol`, `seeds`, `test_accuracies`,
/// `test_accuracy_mean`, `test_accuracy_std`, `seconds` in JSON.
public struct NetworkEvaluationResult: Sendable, Equatable, Codable {
    public var network: NetworkSpec
    public var `protocol`: TrainingProtocol
    public var seeds: [UInt64]
    /// Fractions in [0, 1], one per seed.
    public var testAccuracies: [Double]
    public var testAccuracyMean: Double
    /// Population standard deviation over seeds.
    public var testAccuracyStd: Double
    /// Wall-clock seconds per seed: training plus testing.
    public var seconds: [Double]

    enum CodingKeys: String, CodingKey {
        case network, `protocol`, seeds, testAccuracies = "test_accuracies", testAccuracyMean = "test_accuracy_mean",
             testAccuracyStd = "test_accuracy_std", seconds
    }
}

/// Trains networks from scratch on a (distilled or baseline) image set and tests them.
public enum NetworkEvaluation {
    /// Trains one network per seed on `train` with `labels` under `settings` and
    /// measures its accuracy on `test`.
    ///
    /// - Parameters:
    ///   - train: the training images (`m` images, pixel values as the model sees them).
    ///   - labels: `m` class ids, or `m x classes` learned label rows.
    ///   - test: the test images, same shape as `train`; `testLabels` their classes.
    ///   - classes: the number of classes.
    /// - Throws: `NetworkEvaluationError` (one line) when shapes, labels or settings
    ///   do not fit.
    public static func evaluate(train: NetworkImages, labels: NetworkLabels, test: NetworkImages, testLabels: [Int32],
                                classes: Int, network: NetworkSpec, protocol settings: TrainingProtocol = TrainingProtocol(),
                                seeds: [UInt64]) throws -> NetworkEvaluationResult {
        try validate(train: train, labels: labels, test: test, testLabels: testLabels, classes: classes,
                     network: network, settings: settings, seeds: seeds)
        let targets: [Float], loss: NetworkLoss
        switch labels {
        case .classes(let ids):
            var t = [Float](repeating: 0, count: ids.count * classes)
            for (i, c) in ids.enumerated() { t[i * classes + Int(c)] = 1 }
            (targets, loss) = (t, .crossEntropy)
        case .soft(let rows):
            (targets, loss) = (rows, settings.softLabelLoss)
        }
        let trainImages = train.normalised(mean: settings.pixelMean, std: settings.pixelStd)
        let testImages = test.normalised(mean: settings.pixelMean, std: settings.pixelStd)
        let (c, h, w) = (train.channels, train.height, train.width)

        func run<N: TrainableNetwork>(_ net: N) -> [(Double, Double)] where N.Scalar == Float {
            let trainer = NetworkTrainer(network: net, settings: settings, centred: network.centred,
                                         channels: c, height: h, width: w)
            return seeds.map { seed in
                let start = DispatchTime.now().uptimeNanoseconds
                let fit = trainer.train(images: trainImages, targets: targets, count: train.count, loss: loss, seed: seed)
                let right = trainer.correct(parameters: fit.parameters, initial: fit.initial, images: testImages,
                                            labels: testLabels)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                return (Double(right) / Double(testLabels.count), seconds)
            }
        }
        let runs: [(Double, Double)]
        switch network.kind {
        case .convnet:
            runs = run(ConvNet<Float>(channels: c, height: h, width: w, classes: classes,
                                      networkWidth: network.width, depth: network.depth))
        case .mlp:
            let parameterisation: MLP<Float>.Parameterisation = network.parameterisation == .ntk
                ? .ntk(weightStd: network.weightStd, biasStd: network.biasStd) : .standard
            runs = run(MLP<Float>(inputFeatures: train.features, classes: classes, width: network.width,
                                  depth: network.depth, parameterisation: parameterisation))
        }
        let accuracies = runs.map(\.0)
        let mean = accuracies.reduce(0, +) / Double(accuracies.count)
        let variance = accuracies.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(accuracies.count)
        return NetworkEvaluationResult(network: network, protocol: settings, seeds: seeds, testAccuracies: accuracies,
                                       testAccuracyMean: mean, testAccuracyStd: variance.squareRoot(),
                                       seconds: runs.map(\.1))
    }

    private static func validate(train: NetworkImages, labels: NetworkLabels, test: NetworkImages, testLabels: [Int32],
                                 classes: Int, network: NetworkSpec, settings: TrainingProtocol, seeds: [UInt64]) throws {
        guard train.count > 0 else { throw NetworkEvaluationError.shape("training images: expected at least 1, found 0") }
        guard classes >= 2 else { throw NetworkEvaluationError.labels("classes: expected at least 2, found \(classes)") }
        guard (test.height, test.width, test.channels) == (train.height, train.width, train.channels) else {
            throw NetworkEvaluationError.shape(
                "test images: expected \(train.height)x\(train.width)x\(train.channels) like the training images, found \(test.height)x\(test.width)x\(test.channels)")
        }
        guard test.count > 0, testLabels.count == test.count else {
            throw NetworkEvaluationError.labels("test labels: expected \(test.count) (one per test image, at least 1), found \(testLabels.count)")
        }
        if let bad = testLabels.first(where: { $0 < 0 || Int($0) >= classes }) {
            throw NetworkEvaluationError.labels("test labels: expected classes in 0..<\(classes), found \(bad)")
        }
        switch labels {
        case .classes(let ids):
            guard ids.count == train.count else {
                throw NetworkEvaluationError.labels("training labels: expected \(train.count) (one per image), found \(ids.count)")
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= classes }) {
                throw NetworkEvaluationError.labels("training labels: expected classes in 0..<\(classes), found \(bad)")
            }
        case .soft(let rows):
            guard rows.count == train.count * classes else {
                throw NetworkEvaluationError.labels(
                    "learned labels: expected \(train.count) x \(classes) = \(train.count * classes) values, found \(rows.count)")
            }
            if let bad = rows.first(where: { !$0.isFinite }) {
                throw NetworkEvaluationError.labels("learned labels: expected finite values, found \(bad)")
            }
        }
        if let bad = train.pixels.first(where: { !$0.isFinite }) {
            throw NetworkEvaluationError.shape("training images: expected finite pixel values, found \(bad)")
        }
        guard !seeds.isEmpty else { throw NetworkEvaluationError.settings("seeds: expected at least 1, found none") }
        guard settings.pixelMean.count == train.channels, settings.pixelStd.count == train.channels,
              settings.pixelStd.allSatisfy({ $0 > 0 && $0.isFinite }), settings.pixelMean.allSatisfy(\.isFinite) else {
            throw NetworkEvaluationError.settings(
                "pixel mean/std: expected \(train.channels) finite values each (std > 0), found \(settings.pixelMean.count) and \(settings.pixelStd.count)")
        }
        guard settings.epochs >= 1, settings.batchSize >= 1, settings.learningRate > 0, settings.learningRate.isFinite,
              settings.momentum >= 0, settings.momentum < 1, settings.weightDecay >= 0, settings.decayFactor > 0 else {
            throw NetworkEvaluationError.settings(
                "protocol: expected epochs >= 1, batch >= 1, learning rate > 0, momentum in [0, 1), weight decay >= 0, decay factor > 0; found \(settings.epochs), \(settings.batchSize), \(settings.learningRate), \(settings.momentum), \(settings.weightDecay), \(settings.decayFactor)")
        }
        guard network.width >= 1, network.depth >= 1 else {
            throw NetworkEvaluationError.settings("network: expected width and depth >= 1, found \(network.width) and \(network.depth)")
        }
        if network.kind == .convnet {
            var (h, w) = (train.height, train.width)
            for d in 0..<network.depth {
                let pad = train.channels == 1 && d == 0 ? 3 : 1
                (h, w) = ((h + 2 * pad - 2) / 2, (w + 2 * pad - 2) / 2)
            }
            guard h >= 1, w >= 1 else {
                throw NetworkEvaluationError.settings(
                    "ConvNet: expected images large enough for \(network.depth) blocks of 2x2 pooling, found \(train.height)x\(train.width)")
            }
        }
    }
}
