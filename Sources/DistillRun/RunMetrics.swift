import Distill
import DistillDatasets
import DistillIO

/// What `metrics.json` holds: the run's settings and its measured results.
/// Accuracies are fractions in [0, 1]; losses are mean cross-entropies.
public struct RunMetrics: Codable, Equatable, Sendable {
    /// The dataset location as given to `--data`.
    public var dataset: String
    /// The format it was read as (`IDX folder`, ...).
    public var datasetFormat: String
    /// The inner model (`InnerModel.name`), which eval, baselines and retrain use again.
    public var model: String
    public var classes: Int
    /// One name per class, in class-index order.
    public var classNames: [String]
    /// The label value of each class in the dataset's files, in class-index order
    /// (`Dataset.classValues`): what distilled-labels-idx1-ubyte holds. Absent
    /// when the dataset names its classes (a PNG tree): the file then holds the
    /// class indices, which `class_names` names.
    public var classValues: [Int]?
    public var imageHeight: Int
    public var imageWidth: Int
    public var imageChannels: Int
    public var imagesPerClass: Int
    public var steps: Int
    public var learningRate: Double
    public var l2: Double
    /// The L2 strength the final model was trained with (equal to `l2` unless learned).
    public var learnedL2: Double
    public var learnLabels: Bool
    public var learnL2: Bool
    public var pixelRange: String
    public var pull: Double
    public var seed: UInt64
    public var initialisation: String
    public var threads: Int
    /// The final model's loss and accuracy on the whole training set (with
    /// `--batch` too: only the steps' records, history.csv, are per batch).
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var innerGradientNorm: Double
    public var innerTolerance: Double
    public var innerIterations: Int
    public var seconds: Double
    public var secondsPerStep: Double
    public var loadSeconds: Double
    /// The command line that started the run, quoted for a shell; for a resumed
    /// run, the command that started it (from its checkpoint), not the resume's.
    public var commandLine: String
    /// The command lines that resumed the run (`--resume`), in order, quoted for
    /// a shell; absent for a run never resumed.
    public var resumedWith: [String]?
    /// The version of Distill that made it.
    public var version: String
    /// The SHA-256 of each dataset file as stored.
    public var datasetSHA256: [String: String]
    /// The settings the run read, after defaults, with their effective values
    /// (`RecordedConfiguration`: a setting its model does not read is not written).
    public var configuration: RecordedConfiguration
    /// How much the images look like their class: correlation with the class
    /// mean image, and the fraction of pixels outside [0, 1].
    public var readability: Readability?
    /// The same model trained on simple sets of the same size, and on all the data.
    public var baselines: [BaselineResult]?
    /// The NNGP / NTK models only: the affine map from pixels (in [0, 1] for byte
    /// images, the stored value times the scale) to what the kernel sees, `(x - mean) / std`,
    /// with the training set's global pixel mean and standard deviation.
    public var pixelStandardisation: PixelStandardisation?
    /// The fraction of each class held out as the test split (`--test-fraction`,
    /// a single class-per-folder tree only) and the split's seed; absent otherwise.
    public var testFraction: Double?
    public var splitSeed: UInt64?
    /// CIFAR-100's label set (`fine` or `coarse`); absent for other formats.
    public var labelSet: String?

    public init(dataset: String, datasetFormat: String, model: String, classes: Int, classNames: [String], imageHeight: Int, imageWidth: Int, imageChannels: Int, imagesPerClass: Int, steps: Int, learningRate: Double, l2: Double, learnedL2: Double, learnLabels: Bool, learnL2: Bool, pixelRange: String, pull: Double, seed: UInt64, initialisation: String, threads: Int, trainLoss: Double, trainAccuracy: Double, testLoss: Double, testAccuracy: Double, innerGradientNorm: Double, innerTolerance: Double, innerIterations: Int, seconds: Double, secondsPerStep: Double, loadSeconds: Double, commandLine: String, resumedWith: [String]? = nil, version: String, datasetSHA256: [String: String], configuration: RecordedConfiguration, readability: Readability? = nil, baselines: [BaselineResult]? = nil, dataOptions: DatasetOptions = DatasetOptions(), classValues: [Int]? = nil, pixelStandardisation: PixelStandardisation? = nil) {
        self.dataset = dataset
        self.datasetFormat = datasetFormat
        self.model = model
        self.classes = classes
        self.classNames = classNames
        self.classValues = classValues
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        self.imageChannels = imageChannels
        self.imagesPerClass = imagesPerClass
        self.steps = steps
        self.learningRate = learningRate
        self.l2 = l2
        self.learnedL2 = learnedL2
        self.learnLabels = learnLabels
        self.learnL2 = learnL2
        self.pixelRange = pixelRange
        self.pull = pull
        self.seed = seed
        self.initialisation = initialisation
        self.threads = threads
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.innerGradientNorm = innerGradientNorm
        self.innerTolerance = innerTolerance
        self.innerIterations = innerIterations
        self.seconds = seconds
        self.secondsPerStep = secondsPerStep
        self.loadSeconds = loadSeconds
        self.commandLine = commandLine
        self.resumedWith = resumedWith
        self.version = version
        self.datasetSHA256 = datasetSHA256
        self.configuration = configuration
        self.readability = readability
        self.baselines = baselines
        self.pixelStandardisation = pixelStandardisation
        testFraction = dataOptions.testFraction
        splitSeed = dataOptions.testFraction == nil ? nil : dataOptions.splitSeed
        labelSet = dataOptions.labelSet?.rawValue
    }

    /// The loading options recorded (`DatasetOptions` of the run's dataset).
    public var dataOptions: DatasetOptions {
        DatasetOptions(testFraction: testFraction, splitSeed: splitSeed ?? 0, labelSet: labelSet.flatMap(CIFAR.LabelSet.init(rawValue:)))
    }

    enum CodingKeys: String, CodingKey {
        case dataset, model, classes, steps, l2, seed, threads, seconds
        case datasetFormat = "dataset_format", classNames = "class_names", classValues = "class_values"
        case imageHeight = "image_height", imageWidth = "image_width", imageChannels = "image_channels"
        case imagesPerClass = "images_per_class"
        case learningRate = "learning_rate", initialisation = "init"
        case learnedL2 = "learned_l2", learnLabels = "learn_labels", learnL2 = "learn_l2", pixelRange = "pixel_range", pull
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy", testLoss = "test_loss", testAccuracy = "test_accuracy"
        case innerGradientNorm = "inner_gradient_norm", innerTolerance = "inner_tolerance", innerIterations = "inner_iterations"
        case secondsPerStep = "seconds_per_step", loadSeconds = "load_seconds"
        case commandLine = "command_line", resumedWith = "resumed_with", version, datasetSHA256 = "dataset_sha256", configuration, readability, baselines
        case testFraction = "test_fraction", splitSeed = "split_seed", labelSet = "label_set"
        case pixelStandardisation = "pixel_standardisation"
    }
}

/// The commands that made a run, each quoted for a shell: the one that started
/// it and those that resumed it, in order. Recorded in its checkpoints, so that
/// metrics.json names the original command however often the run is resumed.
public struct RunCommands: Sendable, Equatable {
    public var original: String
    public var resumedWith: [String]

    public init(original: String, resumedWith: [String] = []) {
        self.original = original
        self.resumedWith = resumedWith
    }

    /// The commands of a run started by `command`, or, with `checkpoint`, of the
    /// run `command` resumes: the checkpoint's, then `command`. A checkpoint
    /// written before the commands were recorded names none: its run's command
    /// counts as `command`'s.
    public init(command: String, resuming checkpoint: Checkpoint?) {
        guard let checkpoint else { self.init(original: command); return }
        self.init(original: checkpoint.manifest.commandLine ?? command,
                  resumedWith: (checkpoint.manifest.resumedWith ?? []) + [command])
    }
}
