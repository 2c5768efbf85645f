import Dispatch
import DistillNumerics

/// The test accuracy of networks trained from scratch on an image set, one per
/// seed, with keys `network`, `protocol`, `seeds`, `test_accuracies`,
/// `test_accuracy_mean`, `test_accuracy_std`, `seconds`, `diverged`,
/// `diverged_at_epoch` in JSON.
///
/// A network whose training loss or parameters became non-finite (NaN or ±inf)
/// has *diverged*: its training stops there, it is not tested, its accuracy is NaN
/// (JSON "nan" through a non-conforming-float strategy), and the mean and standard
/// deviation are over the other seeds only (NaN when every seed diverged).
public struct NetworkEvaluationResult: Sendable, Equatable, Codable {
    public var network: NetworkSpec
    public var `protocol`: TrainingProtocol
    public var seeds: [UInt64]
    /// Fractions in [0, 1], one per seed; NaN for a seed whose training diverged.
    public var testAccuracies: [Double]
    /// Mean over the seeds whose training stayed finite; NaN when none did.
    public var testAccuracyMean: Double
    /// Population standard deviation over the seeds whose training stayed finite; NaN when none did.
    public var testAccuracyStd: Double
    /// Wall-clock seconds per seed: training plus testing.
    public var seconds: [Double]
    /// Per seed: whether the training loss or the parameters became non-finite.
    public var diverged: [Bool]
    /// Per seed: the epoch (1-based) in which training diverged, or nil.
    public var divergedAtEpoch: [Int?]

    public init(network: NetworkSpec, protocol settings: TrainingProtocol, seeds: [UInt64], testAccuracies: [Double],
                seconds: [Double], divergedAtEpoch: [Int?]) {
        self.network = network
        self.protocol = settings
        self.seeds = seeds
        self.testAccuracies = testAccuracies
        self.seconds = seconds
        self.divergedAtEpoch = divergedAtEpoch
        diverged = divergedAtEpoch.map { $0 != nil }
        testAccuracyMean = .nan
        testAccuracyStd = .nan
        summarise()
    }

    /// The seeds whose training diverged.
    public var divergedSeeds: [UInt64] { zip(seeds, diverged).filter(\.1).map(\.0) }

    /// Recomputes the mean and population standard deviation over the seeds that did not diverge.
    public mutating func summarise() {
        let finite = zip(testAccuracies, diverged).filter { !$0.1 }.map(\.0)
        guard !finite.isEmpty else { (testAccuracyMean, testAccuracyStd) = (.nan, .nan); return }
        let n = Double(finite.count)
        testAccuracyMean = finite.reduce(0, +) / n
        testAccuracyStd = (finite.reduce(0) { $0 + ($1 - testAccuracyMean) * ($1 - testAccuracyMean) } / n).squareRoot()
    }

    /// This result followed by `other`'s seeds (same network and protocol), summarised again.
    public func appending(_ other: NetworkEvaluationResult) -> NetworkEvaluationResult {
        var r = self
        r.seeds += other.seeds
        r.testAccuracies += other.testAccuracies
        r.seconds += other.seconds
        r.diverged += other.diverged
        r.divergedAtEpoch += other.divergedAtEpoch
        r.summarise()
        return r
    }

    enum CodingKeys: String, CodingKey {
        case network, `protocol`, seeds, testAccuracies = "test_accuracies", testAccuracyMean = "test_accuracy_mean",
             testAccuracyStd = "test_accuracy_std", seconds, diverged, divergedAtEpoch = "diverged_at_epoch"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        network = try c.decode(NetworkSpec.self, forKey: .network)
        self.protocol = try c.decode(TrainingProtocol.self, forKey: .protocol)
        seeds = try c.decode([UInt64].self, forKey: .seeds)
        testAccuracies = try c.decode([Double].self, forKey: .testAccuracies)
        testAccuracyMean = try c.decode(Double.self, forKey: .testAccuracyMean)
        testAccuracyStd = try c.decode(Double.self, forKey: .testAccuracyStd)
        seconds = try c.decode([Double].self, forKey: .seconds)
        // Results written before divergence was reported: no seed diverged.
        divergedAtEpoch = try c.decodeIfPresent([Int?].self, forKey: .divergedAtEpoch) ?? seeds.map { _ in nil }
        diverged = try c.decodeIfPresent([Bool].self, forKey: .diverged) ?? divergedAtEpoch.map { $0 != nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(network, forKey: .network)
        try c.encode(self.protocol, forKey: .protocol)
        try c.encode(seeds, forKey: .seeds)
        try c.encode(testAccuracies, forKey: .testAccuracies)
        try c.encode(testAccuracyMean, forKey: .testAccuracyMean)
        try c.encode(testAccuracyStd, forKey: .testAccuracyStd)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(diverged, forKey: .diverged)
        try c.encode(divergedAtEpoch, forKey: .divergedAtEpoch)   // null for a seed that did not diverge
    }
}

/// One network kind prepared to train on a set under a protocol and be tested:
/// what `NetworkEvaluation.evaluate` runs for each seed, and the parts of it
/// that take time, so that a caller can time them before an evaluation starts
/// (`distill eval --network` announces its duration from them).
public struct NetworkWorkload {
    /// Trains the network of `seed` under the protocol and tests it: its test
    /// accuracy (NaN when it diverged), the seconds both took, and the epoch of divergence.
    let trainAndTest: (UInt64) -> (accuracy: Double, seconds: Double, divergedAtEpoch: Int?)
    /// Trains seed 1's network for the protocol's first `epochs` epochs (at
    /// least 1; each: every image once, in batches, augmented as the protocol
    /// augments) and discards it.
    public let train: (_ epochs: Int) -> Void
    /// Tests seed 1's initial network on the first `n` test images (1 to all of them).
    public let test: (_ n: Int) -> Void
    /// The images of one test.
    public let testImages: Int
    /// The protocol's epochs.
    public let epochs: Int
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
    ///   - threads: lanes the ConvNet splits each batch into, one worker thread
    ///     each; default the active processors. Results are
    ///     deterministic for a given seed and thread count.
    /// - Throws: `NetworkEvaluationError` (one line) when shapes, labels or settings
    ///   do not fit.
    public static func evaluate(train: NetworkImages, labels: NetworkLabels, test: NetworkImages, testLabels: [Int32],
                                classes: Int, network: NetworkSpec, protocol settings: TrainingProtocol = TrainingProtocol(),
                                seeds: [UInt64], threads: Int = ProcessInfoThreads.count) throws -> NetworkEvaluationResult {
        try validate(train: train, labels: labels, test: test, testLabels: testLabels, classes: classes,
                     network: network, settings: settings, seeds: seeds)
        let work = prepare(train: train, labels: labels, test: test, testLabels: testLabels, classes: classes,
                           network: network, settings: settings, threads: threads)
        let runs = seeds.map(work.trainAndTest)
        return NetworkEvaluationResult(network: network, protocol: settings, seeds: seeds,
                                       testAccuracies: runs.map(\.accuracy), seconds: runs.map(\.seconds),
                                       divergedAtEpoch: runs.map(\.divergedAtEpoch))
    }

    /// The work of `evaluate` for one network, in the parts that take time, to be
    /// timed before an evaluation starts (`NetworkWorkload`). Same parameters and
    /// errors as `evaluate`.
    public static func workload(train: NetworkImages, labels: NetworkLabels, test: NetworkImages, testLabels: [Int32],
                                classes: Int, network: NetworkSpec, protocol settings: TrainingProtocol = TrainingProtocol(),
                                threads: Int = ProcessInfoThreads.count) throws -> NetworkWorkload {
        try validate(train: train, labels: labels, test: test, testLabels: testLabels, classes: classes,
                     network: network, settings: settings, seeds: [1])
        return prepare(train: train, labels: labels, test: test, testLabels: testLabels, classes: classes,
                       network: network, settings: settings, threads: threads)
    }

    /// The targets, the normalised images and the network's trainer, made once for every seed.
    private static func prepare(train: NetworkImages, labels: NetworkLabels, test: NetworkImages, testLabels: [Int32],
                                classes: Int, network: NetworkSpec, settings: TrainingProtocol, threads: Int) -> NetworkWorkload {
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

        // Generic over the network so that each kind's training loop is specialised.
        func work<N: TrainableNetwork>(_ net: N) -> NetworkWorkload where N.Scalar == Float {
            let trainer = NetworkTrainer(network: net, settings: settings, centred: network.centred,
                                         channels: c, height: h, width: w)
            return NetworkWorkload(
                trainAndTest: { seed in
                    let start = DispatchTime.now().uptimeNanoseconds
                    let fit = trainer.train(images: trainImages, targets: targets, count: train.count, loss: loss, seed: seed)
                    // A diverged network is not tested: its outputs are not numbers.
                    let accuracy = fit.divergedAtEpoch != nil ? Double.nan
                        : Double(trainer.correct(parameters: fit.parameters, initial: fit.initial, images: testImages,
                                                 labels: testLabels)) / Double(testLabels.count)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                    return (accuracy, seconds, fit.divergedAtEpoch)
                },
                train: { epochs in
                    var first = settings
                    first.epochs = max(1, epochs)
                    let shorter = NetworkTrainer(network: net, settings: first, centred: network.centred,
                                                 channels: c, height: h, width: w)
                    _ = shorter.train(images: trainImages, targets: targets, count: train.count, loss: loss, seed: 1)
                },
                test: { n in
                    let count = max(1, min(n, testLabels.count))
                    var random = SplitMix64(seed: 1)
                    let initial = net.initialParameters(&random)
                    _ = trainer.correct(parameters: initial, initial: initial, images: Array(testImages.prefix(count * net.inputFeatures)),
                                        labels: Array(testLabels.prefix(count)))
                },
                testImages: testLabels.count, epochs: settings.epochs)
        }
        switch network.kind {
        case .convnet:
            return work(ConvNet<Float>(channels: c, height: h, width: w, classes: classes,
                                       networkWidth: network.width, depth: network.depth, threads: threads))
        case .mlp:
            return work(mlp(network, inputFeatures: train.features, classes: classes))
        }
    }

    /// The MLP `network` describes: `network.depth` hidden layers of
    /// `network.width` units, then the classifier (`MLP`'s depth: one more).
    static func mlp(_ network: NetworkSpec, inputFeatures: Int, classes: Int) -> MLP<Float> {
        let parameterisation: MLP<Float>.Parameterisation = network.parameterisation == .ntk
            ? .ntk(weightStd: network.weightStd, biasStd: network.biasStd) : .standard
        return MLP<Float>(inputFeatures: inputFeatures, classes: classes, width: network.width,
                          depth: network.depth + 1, parameterisation: parameterisation)
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
        // An MLP may have no hidden layer (its classifier alone); a ConvNet needs a block.
        let fewestLayers = network.kind == .mlp ? 0 : 1
        guard network.width >= 1, network.depth >= fewestLayers else {
            throw NetworkEvaluationError.settings("network: expected width >= 1 and depth >= \(fewestLayers), found \(network.width) and \(network.depth)")
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
