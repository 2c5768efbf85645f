import DistillImages
import DistillNumerics

/// One baseline's figures. Accuracies are fractions in [0, 1]; `trainLoss` is the
/// mean cross-entropy on the whole training set (no L2 term). For a baseline drawn
/// several times the figures are means over the draws and the `…Std` fields their
/// sample standard deviations `√(Σ (aᵢ - ā)² / (draws - 1))`; otherwise those are nil.
public struct BaselineResult: Sendable, Equatable, Codable {
    /// `random_real`, `class_means`, `kmeans` or `full_data`.
    public var name: String
    /// The inner model trained (`InnerModel.name`).
    public var model: String
    /// Images per class of the small training set; nil for the full-data model.
    public var imagesPerClass: Int?
    /// The L2 strength the model was trained with.
    public var l2: Double
    public var testAccuracy: Double
    public var testAccuracyStd: Double?
    public var trainLoss: Double
    public var trainLossStd: Double?
    /// How many draws the figures summarise (1 for deterministic baselines).
    public var draws: Int
    /// Wall time of the whole baseline (every draw, training and evaluation).
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case name, model, l2, draws, seconds
        case imagesPerClass = "images_per_class"
        case testAccuracy = "test_accuracy", testAccuracyStd = "test_accuracy_std"
        case trainLoss = "train_loss", trainLossStd = "train_loss_std"
    }
}

/// The reference points a distilled set is judged against, for `K` images per class.
///
/// The small baselines train the distilled run's own inner model (`model`, with
/// one-hot labels) on a small real set, with the **same L2 strength λ as the
/// distilled run** (passed in), so the only difference from the distilled set is
/// the images. The full-data model is the ceiling: the same model on every
/// training image (or as many as it can take; see `InnerModelFactory.ceiling`).
public struct Baselines: Sendable {
    public let train: LabeledImages
    public let test: LabeledImages
    /// Threads of the passes over the training and test sets (and of k-means).
    public let threads: Int
    /// The inner model trained on every baseline set.
    public let model: any InnerModel

    public init(train: LabeledImages, test: LabeledImages, threads: Int, model: any InnerModel) {
        self.train = train
        self.test = test
        self.threads = max(1, threads)
        self.model = model
    }

    /// `K` random real training images per class, drawn `draws` times (distinct
    /// images within a draw); draw `d` uses `SplitMix64(seed: s_d)`, `s_d` the
    /// `d`-th output of `SplitMix64(seed: seed)`.
    public func randomReal(imagesPerClass k: Int, l2: Double, seed: UInt64,
                           draws: Int = 5) throws(InitialisationError) -> BaselineResult {
        let start = Self.now()
        var master = SplitMix64(seed: seed)
        var accuracies: [Double] = [], losses: [Double] = []
        for _ in 0..<max(1, draws) {
            var random = SplitMix64(seed: master.next())
            let images = try Initialisation.real.images(from: train, imagesPerClass: k, random: &random)
            let (accuracy, loss) = fitAndEvaluate(images: images, imagesPerClass: k, l2: l2)
            accuracies.append(accuracy)
            losses.append(loss)
        }
        let (accuracy, accuracyStd) = Self.meanAndStd(accuracies)
        let (loss, lossStd) = Self.meanAndStd(losses)
        return BaselineResult(name: "random_real", model: model.name, imagesPerClass: k, l2: l2,
                              testAccuracy: accuracy, testAccuracyStd: accuracyStd,
                              trainLoss: loss, trainLossStd: lossStd, draws: accuracies.count,
                              seconds: Self.now() - start)
    }

    /// The class means (`K = 1`, named `class_means`) or `K` k-means centroids per
    /// class (`K > 1`, named `kmeans`; see `KMeans.classCentroids`).
    public func centroids(imagesPerClass k: Int, l2: Double, seed: UInt64) throws(InitialisationError) -> BaselineResult {
        let start = Self.now()
        let images = k == 1 ? try Initialisation.classMeans(train)
            : try KMeans.classCentroids(of: train, perClass: k, seed: seed, threads: threads)
        let (accuracy, loss) = fitAndEvaluate(images: images, imagesPerClass: k, l2: l2)
        return BaselineResult(name: k == 1 ? "class_means" : "kmeans", model: model.name, imagesPerClass: k, l2: l2,
                              testAccuracy: accuracy, testAccuracyStd: nil, trainLoss: loss, trainLossStd: nil,
                              draws: 1, seconds: Self.now() - start)
    }

    /// The model's ceiling (`factory.ceiling`) with L2 strength `l2`; nil for a
    /// model that has none, or when `stopRequested` stopped its fit.
    public func fullData(_ factory: any InnerModelFactory.Type, l2: Double, stopRequested: () -> Bool = { false }) -> BaselineResult? {
        let start = Self.now()
        guard let ceiling = factory.ceiling(model: model, train: train, test: test, l2: l2, threads: threads,
                                            stopRequested: stopRequested) else { return nil }
        return BaselineResult(name: "full_data", model: model.name, imagesPerClass: nil, l2: l2,
                              testAccuracy: ceiling.test.accuracy, testAccuracyStd: nil,
                              trainLoss: ceiling.train.loss, trainLossStd: nil, draws: 1, seconds: Self.now() - start)
    }

    /// Every baseline for `K` images per class: random real, centroids, and the
    /// ceiling of `factory` (when it has one) with the same `l2`.
    public func all(imagesPerClass k: Int, l2: Double, seed: UInt64,
                    ceiling factory: any InnerModelFactory.Type) throws(InitialisationError) -> [BaselineResult] {
        [try randomReal(imagesPerClass: k, l2: l2, seed: seed),
         try centroids(imagesPerClass: k, l2: l2, seed: seed)] + [fullData(factory, l2: l2)].compactMap { $0 }
    }

    /// Trains the model on `images` (rows in class order, `K` per class, one-hot
    /// labels) from zero; returns its test accuracy and its training loss.
    private func fitAndEvaluate(images: Matrix, imagesPerClass k: Int, l2: Double) -> (accuracy: Double, trainLoss: Double) {
        let labels = Distiller.oneHotLabels(classes: train.classes, imagesPerClass: k)
        let fit = model.fit(images: images, labels: labels, l2: l2, from: nil)
        return (model.evaluate(fit, on: test, threads: threads).accuracy,
                model.evaluate(fit, on: train, threads: threads).loss)
    }

    /// The mean and the sample standard deviation (0 for one value).
    static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
        let mean = values.reduce(0, +) / Double(max(1, values.count))
        guard values.count > 1 else { return (mean, 0) }
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (mean, (squares / Double(values.count - 1)).squareRoot())
    }

    /// Seconds on the monotonic clock (a common origin within the process).
    private static func now() -> Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    private static let origin = ContinuousClock.now
}
