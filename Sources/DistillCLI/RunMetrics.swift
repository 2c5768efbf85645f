import Distill

/// What `metrics.json` holds: the run's settings and its measured results.
/// Accuracies are fractions in [0, 1]; losses are mean cross-entropies.
struct RunMetrics: Codable, Equatable {
    var dataset: String
    var classes: Int
    var imageHeight: Int
    var imageWidth: Int
    var imagesPerClass: Int
    var steps: Int
    var learningRate: Double
    var l2: Double
    /// The L2 strength the final model was trained with (equal to `l2` unless learned).
    var learnedL2: Double
    var learnLabels: Bool
    var learnL2: Bool
    var pixelRange: String
    var pull: Double
    var seed: UInt64
    var initialisation: String
    var threads: Int
    var trainLoss: Double
    var trainAccuracy: Double
    var testLoss: Double
    var testAccuracy: Double
    var innerGradientNorm: Double
    var innerTolerance: Double
    var innerIterations: Int
    var seconds: Double
    var secondsPerStep: Double
    var loadSeconds: Double
    /// The command line that started the run, quoted for a shell.
    var commandLine: String
    /// The version of Distill that made it.
    var version: String
    /// The SHA-256 of each dataset file as stored.
    var datasetSHA256: [String: String]
    /// Every setting of the distiller, after defaults.
    var configuration: DistillerConfiguration
    /// How much the images look like their class: correlation with the class
    /// mean image, and the fraction of pixels outside [0, 1].
    var readability: Readability?
    /// The same model trained on simple sets of the same size, and on all the data.
    var baselines: [BaselineResult]?

    enum CodingKeys: String, CodingKey {
        case dataset, classes, steps, l2, seed, threads, seconds
        case imageHeight = "image_height", imageWidth = "image_width", imagesPerClass = "images_per_class"
        case learningRate = "learning_rate", initialisation = "init"
        case learnedL2 = "learned_l2", learnLabels = "learn_labels", learnL2 = "learn_l2", pixelRange = "pixel_range", pull
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy", testLoss = "test_loss", testAccuracy = "test_accuracy"
        case innerGradientNorm = "inner_gradient_norm", innerTolerance = "inner_tolerance", innerIterations = "inner_iterations"
        case secondsPerStep = "seconds_per_step", loadSeconds = "load_seconds"
        case commandLine = "command_line", version, datasetSHA256 = "dataset_sha256", configuration, readability, baselines
    }
}
