import ArgumentParser
import Distill
import DistillDatasets
import DistillIO
import DistillImages
import DistillNetworks
import DistillNumerics
import DistillRun
import Foundation

// `distill eval --network` and `distill sweep --network`: networks trained from
// scratch on a distilled or baseline set (DistillNetworks), the field's evaluation.

/// The networks `--network` names.
enum NetworkChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case mlp, convnet
    case ntkMLP = "ntk-mlp"

    /// The network with its default architecture, or `width` / `depth` when given.
    func spec(width: Int?, depth: Int?) -> NetworkSpec {
        switch self {
        case .convnet: return .convNet(width: width ?? 128, depth: depth ?? 3)
        case .mlp: return .mlp(width: width ?? 128, depth: depth ?? 2)
        case .ntkMLP: return .ntkMLP(width: width ?? 1024, depth: depth ?? 2)
        }
    }

    /// How results name it: ConvNet-3, MLP, NTK-MLP.
    func title(_ spec: NetworkSpec) -> String {
        switch self {
        case .convnet: return "ConvNet-\(spec.depth)"
        case .mlp: return "MLP"
        case .ntkMLP: return "NTK-MLP"
        }
    }
}

/// Which labels the networks train on.
enum NetworkLabelChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// The set's learned label rows (`distilled-labels-idx2-float`).
    case soft
    /// The class ids, as one-hot rows with cross-entropy.
    case hard
}

/// The loss on learned label rows.
/// The augmentations `--augmentation` names.
enum AugmentationChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// DSA's: one of crop, scale, rotation per batch, bilinear (`Augmentation`).
    case dsa
    /// DC's MNIST one: one of crop, scale, rotation per image (`DCAugmentation`).
    case dc

    var augmentation: TrainingAugmentation {
        switch self {
        case .dsa: return .dsa(Augmentation())
        case .dc: return .dc(DCAugmentation())
        }
    }
}

enum SoftLabelLossChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case crossEntropy = "cross-entropy"
    case mse

    var loss: NetworkLoss { self == .mse ? .meanSquaredError : .crossEntropy }
}

/// The baseline sets `--baseline` names.
enum NetworkBaselineChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case randomReal = "random-real"
    case classMeans = "class-means"
    case kmeans

    /// The name `BaselineResult` and sweep.csv use.
    var resultName: String {
        switch self {
        case .randomReal: return "random_real"
        case .classMeans: return "class_means"
        case .kmeans: return "kmeans"
        }
    }
}

/// The network and its training protocol: shared by `eval` and `sweep`.
struct NetworkOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Train networks from scratch on the set and report their test accuracy: convnet (ConvNet-3 of DC/DSA/DM/MTT), mlp (ReLU, PyTorch's initialisation) or ntk-mlp (NTK parameterisation, centred). \(choiceText(NetworkChoice.self))",
                               valueName: NetworkChoice.allCases.map(\.rawValue).joined(separator: "|")), transform: choice)
    var network: NetworkChoice?

    @Option(parsing: .unconditional, help: "How many networks to train (seeds 1 to N), each from its own random initialisation; random real images are drawn anew for each.")
    var seeds = 5

    @Option(help: ArgumentHelp("The labels the networks train on: soft (the set's learned labels) or hard (class ids, one-hot). \(choiceText(choices(NetworkLabelChoice.self), defaults: "soft when the set has learned labels, else hard; hard for baselines"))",
                               valueName: "soft|hard"), transform: choice)
    var labels: NetworkLabelChoice?

    @Option(help: ArgumentHelp("The networks' loss on learned labels: cross-entropy (soft cross-entropy, the loss of hard labels) or mse (mean squared error, as KIP and FRePo train); soft cross-entropy is unbounded below when a label is negative. \(choiceText(choices(SoftLabelLossChoice.self), defaults: "cross-entropy, or mse when a label is negative"))",
                               valueName: "cross-entropy|mse"), transform: choice)
    var softLabelLoss: SoftLabelLossChoice?

    @Flag(help: "Augment each batch as DSA does (crop, scale or rotation; no flips) and train 1000 epochs instead of 300.")
    var augment = false

    @Option(help: ArgumentHelp("Augment, and train 1000 epochs, with this augmentation (implies --augment): dsa (what --augment alone uses: one of crop, scale, rotation per batch, bilinear, as DSA) or dc (DC's MNIST evaluation: one of crop by up to 4 pixels with mean fill, nearest-neighbour scale by 0.8-1.2, rotation by up to 45 degrees per image). \(choiceText(AugmentationChoice.self))",
                               valueName: AugmentationChoice.allCases.map(\.rawValue).joined(separator: "|")), transform: choice)
    var augmentation: AugmentationChoice?

    @Option(parsing: .unconditional, help: "Train this many epochs instead of the protocol's; the rate is divided by 10 at half. (default: 300, or 1000 with --augment or --augmentation)")
    var epochs: Int?

    /// The augmentation chosen: `--augmentation`'s, or DSA's for `--augment` alone, or none.
    var chosenAugmentation: TrainingAugmentation? {
        if let augmentation { return augmentation.augmentation }
        return augment ? .dsa(Augmentation()) : nil
    }

    func validate() throws {
        if network == nil {
            let given = [("--labels", labels != nil), ("--augment", augment), ("--augmentation", augmentation != nil),
                         ("--epochs", epochs != nil),
                         ("--soft-label-loss", softLabelLoss != nil), ("--seeds", seeds != 5)]
            if let (name, _) = given.first(where: { $0.1 }) {
                throw ValidationError("\(name) sets how networks are trained, so it needs --network convnet|mlp|ntk-mlp.")
            }
        }
        guard (1...100).contains(seeds) else { throw ValidationError("--seeds: expected a value between 1 and 100, found '\(seeds)'") }
        if let epochs { guard epochs >= 1 else { throw ValidationError("--epochs: expected at least 1, found '\(epochs)'") } }
    }

    /// The training protocol: DC's (`TrainingProtocol.dc`) with these options, and
    /// the pixels standardised with the training split's per-channel mean and
    /// standard deviation (MNIST's give DC's 0.1307 and 0.3081).
    func trainingProtocol(train: LabeledImages) -> TrainingProtocol {
        var settings = TrainingProtocol.dc(augmentation: chosenAugmentation)
        if let epochs { settings.epochs = epochs }
        settings.softLabelLoss = (softLabelLoss ?? .crossEntropy).loss
        let (mean, std) = PixelStatistics.perChannel(train)
        settings.pixelMean = mean
        settings.pixelStd = std
        return settings
    }
}

/// `eval`'s network options: the shared ones, the architecture, and baselines.
struct EvalNetworkOptions: ParsableArguments {
    @OptionGroup var common: NetworkOptions

    @Option(parsing: .unconditional, help: "MLP: hidden units per layer; ConvNet: channels per convolution. (default: 128; ntk-mlp: 1024)")
    var width: Int?

    @Option(parsing: .unconditional, help: "MLP: hidden ReLU layers before the classifier, counted as run's --depth counts the NTK's; ConvNet: convolution blocks. (default: 2, DC's MLP; convnet: 3)")
    var depth: Int?

    @Option(help: ArgumentHelp("Evaluate a baseline set instead of a distilled one, with the same network and protocol: random real training images (drawn anew for each network seed), the class means, or k-means centroids of each class. \(choiceText(NetworkBaselineChoice.self))",
                               valueName: NetworkBaselineChoice.allCases.map(\.rawValue).joined(separator: "|")), transform: choice)
    var baseline: NetworkBaselineChoice?

    @Option(parsing: .unconditional, help: "The baseline's images per class; class-means has exactly 1. (default: 1)")
    var imagesPerClass: Int?

    @Option(parsing: .unconditional, help: "The seed of the baseline's random draws and of k-means. (default: distill run's seed, so the images are those of the run's own baselines)")
    var seed: UInt64?

    var network: NetworkChoice? { common.network }

    func validate() throws {
        if let width { guard width >= 1 else { throw ValidationError("--width: expected at least 1, found '\(width)'") } }
        if let depth {
            // An MLP may have no hidden layer (its classifier alone); a ConvNet needs a block.
            let fewest = common.network == .convnet ? 1 : 0
            guard depth >= fewest else {
                throw ValidationError("--depth: expected at least \(fewest)\(fewest == 0 ? " (hidden layers)" : " (convolution blocks)"), found '\(depth)'")
            }
        }
        if let k = imagesPerClass { guard k >= 1 else { throw ValidationError("--images-per-class: expected at least 1, found '\(k)'") } }
        if common.network == nil {
            if width != nil || depth != nil { throw ValidationError("--width and --depth shape the networks of --network, which is missing.") }
            if baseline != nil { throw ValidationError("--baseline is evaluated with a network, so it needs --network convnet|mlp|ntk-mlp.") }
        }
        if baseline == nil, imagesPerClass != nil || seed != nil {
            throw ValidationError("--images-per-class and --seed choose a baseline set, so they need --baseline random-real|class-means|kmeans.")
        }
        if baseline == .classMeans, let k = imagesPerClass, k != 1 {
            throw ValidationError("--baseline class-means has 1 image per class, got --images-per-class \(k) (use --baseline kmeans for more).")
        }
        if baseline != nil, common.labels == .soft {
            throw ValidationError("--labels soft needs learned labels, which baselines do not have (they use class ids).")
        }
    }

    /// The checks that involve `eval`'s own options; called from `Eval.validate`.
    func validate(distilled: String?, model: String?, l2: Double?) throws {
        switch (distilled, baseline) {
        case (nil, nil): throw ValidationError("give the set to evaluate: --distilled FOLDER, or --baseline with --network.")
        case (.some, .some): throw ValidationError("give either --distilled or --baseline, not both.")
        default: break
        }
        if network != nil, model != nil || l2 != nil {
            throw ValidationError("--model and --l2 choose the inner model, which --network replaces by networks; give one or the other.")
        }
    }
}

extension DistillCommand.Eval {
    /// `eval --network`: loads the dataset and the set, trains the networks, tests them.
    func evaluateNetworks() throws -> NetworkEvalReport {
        guard let choice = networkOptions.network else { throw CLIError("--network is missing") }
        let source = try EvalDataset.choose(dataOptions, distilled: distilled)
        let dataset = try source.load(distilled: distilled)
        // The run's own dataset, read from its metrics.json: said before the long training.
        if !quiet, source.recorded != nil { printError("Dataset: \(source.description).") }
        var evaluator = try NetworkEvaluator(dataset: dataset, data: source.path, choice: choice,
                                             spec: choice.spec(width: networkOptions.width, depth: networkOptions.depth),
                                             options: networkOptions.common, threads: threads)
        // On standard error, so that standard output holds the result alone (--json).
        if !quiet {
            evaluator.log = { printError($0) }
            evaluator.estimatesDuration = true
        }
        if let baseline = networkOptions.baseline {
            return try evaluator.evaluate(baseline: baseline,
                                          imagesPerClass: networkOptions.imagesPerClass ?? DistillerConfiguration().imagesPerClass,
                                          seed: networkOptions.seed ?? DistillerConfiguration().seed, threads: threads)
        }
        guard let distilled else { throw CLIError("--distilled is missing") }
        if let warning = DistilledSet.classNamesWarning(folder: distilled, datasetPath: source.path, classNames: dataset.classNames) {
            printError(warning)
        }
        return try evaluator.evaluate(distilled: distilled, labels: networkOptions.common.labels)
    }
}

extension DistillCommand.Sweep {
    /// The evaluator of `--network` (default architecture), or nil without it.
    func networkEvaluator(_ loaded: LoadedDataset) throws(CLIError) -> NetworkEvaluator? {
        guard let choice = networkOptions.network else { return nil }
        do {
            var evaluator = try NetworkEvaluator(dataset: loaded.dataset, data: options.data, choice: choice,
                                                 spec: choice.spec(width: nil, depth: nil), options: networkOptions,
                                                 threads: options.dataOptions.threads)
            if !quiet { evaluator.log = { printError($0) } }
            return evaluator
        } catch { throw CLIError(error) }
    }

    /// One size's network column: the distilled set in `folder` and, with
    /// baselines on, random real images and class means / k-means centroids of the
    /// same size and seed as the inner model's baselines. Writes them to
    /// `folder/network-eval.json` and prints one line.
    func evaluateNetworks(_ evaluator: NetworkEvaluator, folder: String, imagesPerClass k: Int,
                          seed: UInt64) throws(CLIError) -> [String: NetworkEvaluationResult] {
        do {
            var reports = ["distilled": try evaluator.evaluate(distilled: folder, labels: networkOptions.labels)]
            if baselines.isOn {
                reports["random_real"] = try evaluator.evaluate(baseline: .randomReal, imagesPerClass: k, seed: seed,
                                                                threads: options.dataOptions.threads)
                let centroids: NetworkBaselineChoice = k == 1 ? .classMeans : .kmeans
                reports[centroids.resultName] = try evaluator.evaluate(baseline: centroids, imagesPerClass: k, seed: seed,
                                                                       threads: options.dataOptions.threads)
            }
            let encoder = JSONEncoder.total()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
            try OutputFile.write(Array(try encoder.encode(reports)), to: folder + "/" + SweepReport.networkFileName)
            let summary = reports.sorted { $0.key < $1.key }.map { key, report in
                let spread = evaluator.seeds.count == 1 ? "" : " ± \(format(100 * report.result.testAccuracyStd, 2))"
                return "\(key.replacingOccurrences(of: "_", with: " ")) \(format(100 * report.result.testAccuracyMean, 2))\(spread)%"
            }
            let spreadNote = evaluator.seeds.count == 1 ? "" : " (± : the population standard deviation over the seeds, in points of percent)"
            print("\(k) per class, \(evaluator.title) (\(counted(evaluator.seeds.count, "seed"))): " + summary.joined(separator: ", ") + "." + spreadNote)
            return reports.mapValues(\.result)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(error)
        }
    }
}

/// Trains and tests one network kind under one protocol on any set of a dataset.
struct NetworkEvaluator {
    let dataset: Dataset
    /// The dataset's path as given (for the report).
    let data: String
    let choice: NetworkChoice
    let spec: NetworkSpec
    let settings: TrainingProtocol
    let seeds: [UInt64]
    let test: NetworkImages
    /// `--soft-label-loss` when given; nil: cross-entropy unless a learned label is negative.
    let softLabelLoss: SoftLabelLossChoice?
    /// Threads per network (`--threads`).
    let threads: Int
    /// Where a line goes before the first network trains (what will be trained)
    /// and as each network finishes (its accuracy and time); nil: nowhere.
    var log: ((String) -> Void)?
    /// Whether the first line estimates the evaluation's time (`NetworkEvalEstimate`,
    /// measured on copies before the first network trains).
    var estimatesDuration = false

    /// ConvNet-3, MLP or NTK-MLP.
    var title: String { choice.title(spec) }

    init(dataset: Dataset, data: String, choice: NetworkChoice, spec: NetworkSpec, options: NetworkOptions,
         threads: Int) throws {
        self.dataset = dataset
        self.threads = threads
        self.data = data
        self.choice = choice
        self.spec = spec
        settings = options.trainingProtocol(train: dataset.train)
        seeds = (1...UInt64(options.seeds)).map { $0 }
        softLabelLoss = options.softLabelLoss
        let shape = dataset.shape
        test = try NetworkImages(dataset.test, height: shape.height, width: shape.width, channels: shape.channels)
    }

    /// The distilled set in `folder` with its learned labels (`labels` nil or
    /// `.soft`, when it has them) or its class ids.
    func evaluate(distilled folder: String, labels labelChoice: NetworkLabelChoice?) throws -> NetworkEvalReport {
        let set = try DistilledSet.load(folder, shape: dataset.shape, classes: dataset.classes, classValues: dataset.classValues)
        let hasLearned = set.labelsFile == RunFiles.softLabels
        if labelChoice == .soft, !hasLearned {
            throw DistilledSetError(description: "\(folder): --labels soft expected learned labels in \(RunFiles.softLabels), found only \(set.labelsFile)")
        }
        let soft = labelChoice != .hard && hasLearned
        let labels: NetworkLabels = soft ? .soft(set.labels.values.map { Float($0) }) : .classes(set.classes.map { Int32($0) })
        // -Σ t_k log p_k with some t_k < 0 decreases without bound as p_k -> 0: by
        // default such labels are regressed with mean squared error instead.
        var notes: [String] = [], settings = self.settings
        if soft, let lowest = set.labels.values.min(), lowest < 0 {
            let range = "the learned labels have negative entries (down to \(format(lowest, 3))), on which soft cross-entropy is unbounded below"
            switch softLabelLoss {
            case nil:
                settings.softLabelLoss = .meanSquaredError
                notes.append(range + ", so the loss is mean squared error (--soft-label-loss cross-entropy to use it anyway)")
            case .crossEntropy?:
                notes.append(range + "; --soft-label-loss mse or --labels hard avoid that")
            case .mse?:
                break
            }
        }
        let pixels = set.images.values.map { Float($0) }
        let result = try trainNetworks(on: "the \(set.images.rows) images of \(folder) (\(soft ? "learned" : "hard") labels)",
                                       count: set.images.rows, labels: labels, settings: settings) { _ in pixels }
        var report = NetworkEvalReport(set: folder, baseline: nil, imagesPerClass: nil, baselineSeed: nil, dataset: data,
                                 images: set.images.rows, classes: dataset.classes, labels: soft ? "soft" : "hard",
                                 labelsFile: soft ? RunFiles.softLabels : hardLabelsFile(folder),
                                 title: choice.title(spec), result: result)
        report.notes = notes
        return report
    }

    /// Where `DistilledSet` took the class ids from: the class-id file, else the largest learned label.
    private func hardLabelsFile(_ folder: String) -> String {
        FileManager.default.fileExists(atPath: folder + "/" + RunFiles.classLabels)
            ? RunFiles.classLabels : RunFiles.softLabels + " (largest label)"
    }

    /// A baseline set of `k` images per class with class-id labels. Random real
    /// images: network seed number `d` trains on draw `d`, drawn with
    /// `SplitMix64(seed: s_d)`, `s_d` the `d`-th output of `SplitMix64(seed: seed)`
    /// (the draws of `Baselines.randomReal`); class means and k-means
    /// (`KMeans.classCentroids` with `seed`) are one set for every network seed.
    func evaluate(baseline: NetworkBaselineChoice, imagesPerClass k: Int, seed: UInt64, threads: Int) throws -> NetworkEvalReport {
        let train = dataset.train
        // Checked before any network trains, naming eval's own options.
        let counts = train.classCounts
        if baseline != .classMeans, let c = counts.indices.first(where: { counts[$0] < k }) {
            let name = c < dataset.classNames.count ? dataset.classNames[c] : String(c)
            throw CLIError("--baseline \(baseline.rawValue) --images-per-class \(k): the baseline needs \(counted(k, "training image")) of every class, but class \(name) has \(counts[c]); use --images-per-class \(max(1, counts.min() ?? 1))\(baseline == .randomReal ? " or another --baseline" : "")")
        }
        let ids = (0..<(train.classes * k)).map { Int32($0 / k) }
        let what = "\(k) \(baseline.rawValue) \(k == 1 ? "image" : "images") per class (\(counted(train.classes * k, "image"))"
        let result: NetworkEvaluationResult
        switch baseline {
        case .randomReal:
            var master = SplitMix64(seed: seed)
            result = try trainNetworks(on: what + ", drawn anew for each network)", count: train.classes * k,
                                       labels: .classes(ids), settings: settings) { _ in
                var random = SplitMix64(seed: master.next())
                return try Initialisation.real.images(from: train, imagesPerClass: k, random: &random).values.map { Float($0) }
            }
        case .classMeans, .kmeans:
            let images = baseline == .classMeans
                ? try Initialisation.classMeans(train)
                : try KMeans.classCentroids(of: train, perClass: k, seed: seed, threads: threads)
            let pixels = images.values.map { Float($0) }
            result = try trainNetworks(on: what + ")", count: images.rows, labels: .classes(ids), settings: settings) { _ in pixels }
        }
        return NetworkEvalReport(set: baseline.rawValue, baseline: baseline.resultName, imagesPerClass: k, baselineSeed: seed,
                                 dataset: data, images: train.classes * k, classes: dataset.classes, labels: "hard",
                                 labelsFile: nil, title: choice.title(spec), result: result)
    }

    /// Trains and tests one network per seed, in seed order, network seed `d` on
    /// the images `pixels(d)` gives (`count` of them, in the dataset's shape).
    /// With `log`: first a line saying what will be trained on `what` (and with
    /// `estimatesDuration`, how long it will take), then one line per network as it finishes.
    private func trainNetworks(on what: String, count: Int, labels: NetworkLabels, settings: TrainingProtocol,
                               pixels: (UInt64) throws -> [Float]) throws -> NetworkEvaluationResult {
        let shape = dataset.shape
        var combined: NetworkEvaluationResult?
        for networkSeed in seeds {
            let images = try NetworkImages(pixels: try pixels(networkSeed), count: count, height: shape.height, width: shape.width,
                                           channels: shape.channels)
            if combined == nil, let log {
                var estimate: NetworkEvalEstimate?
                if estimatesDuration {
                    // Making the workload is the preparation `evaluate` repeats for each network.
                    let clock = Stopwatch()
                    let work = try NetworkEvaluation.workload(train: images, labels: labels, test: test, testLabels: dataset.test.labels,
                                                              classes: dataset.classes, network: spec, protocol: settings, threads: threads)
                    estimate = NetworkEvalEstimate.measure(work, networks: seeds.count, preparationSeconds: clock.seconds)
                }
                log(NetworkEvalEstimate.plan(title: title, on: what, seeds: seeds, settings: settings, testImages: test.count,
                                             estimate: estimate))
            }
            let one = try NetworkEvaluation.evaluate(train: images, labels: labels, test: test, testLabels: dataset.test.labels,
                                                     classes: dataset.classes, network: spec, protocol: settings,
                                                     seeds: [networkSeed], threads: threads)
            combined = combined.map { $0.appending(one) } ?? one
            // Each network takes minutes to hours: its result as soon as it is known,
            // so that an evaluation stopped early still shows every finished network.
            log?(NetworkEvalEstimate.finished(title: title, one, of: seeds.count, done: combined?.seeds.count ?? 0))
        }
        guard let combined else { throw CLIError("no network seeds") }
        return combined
    }
}

/// Per-channel mean and standard deviation of a set's pixel values as the model sees them.
enum PixelStatistics {
    static func perChannel(_ images: LabeledImages) -> (mean: [Double], std: [Double]) {
        let c = images.shape.channels
        var sums = [Double](repeating: 0, count: c), squares = [Double](repeating: 0, count: c)
        let scale = Double(images.scale)
        switch images.pixels {
        case .bytes(let b):
            // Byte histograms per channel: exact and fast.
            var histogram = [[Int]](repeating: [Int](repeating: 0, count: 256), count: c)
            b.withUnsafeBufferPointer { p in
                for i in 0..<p.count { histogram[i % c][Int(p[i])] += 1 }
            }
            for k in 0..<c {
                for v in 0..<256 where histogram[k][v] > 0 {
                    let x = Double(v) * scale, n = Double(histogram[k][v])
                    sums[k] += n * x
                    squares[k] += n * x * x
                }
            }
        case .floats(let f):
            f.withUnsafeBufferPointer { p in
                for i in 0..<p.count {
                    let x = Double(p[i]) * scale
                    sums[i % c] += x
                    squares[i % c] += x * x
                }
            }
        }
        let n = Double(max(1, images.count * images.shape.height * images.shape.width))
        let mean = sums.map { $0 / n }
        // A constant channel would divide by zero: its standard deviation counts as 1.
        let std = (0..<c).map { k -> Double in
            let s = (max(0, squares[k] / n - mean[k] * mean[k])).squareRoot()
            return s > 1e-12 ? s : 1
        }
        return (mean, std)
    }
}

/// What `distill eval --network` measured: the library's result (keys `network`,
/// `protocol`, `seeds`, `test_accuracies`, `test_accuracy_mean`,
/// `test_accuracy_std`, `seconds`) plus which set, dataset and labels.
struct NetworkEvalReport: Codable, Equatable {
    /// The distilled folder, or the baseline's name.
    var set: String
    /// `random_real`, `class_means` or `kmeans`; nil for a distilled set.
    var baseline: String?
    var imagesPerClass: Int?
    var baselineSeed: UInt64?
    var dataset: String
    /// Training images per network.
    var images: Int
    var classes: Int
    /// `soft` (learned labels, `protocol.soft_label_loss`) or `hard` (class ids, cross-entropy).
    var labels: String
    /// The labels' file in the distilled folder; nil for a baseline.
    var labelsFile: String?
    /// ConvNet-3, MLP or NTK-MLP.
    var title: String
    var result: NetworkEvaluationResult
    /// Warnings about the set that bear on the result (e.g. negative learned labels under soft cross-entropy).
    var notes: [String] = []

    enum CodingKeys: String, CodingKey {
        case set, baseline, dataset, images, classes, labels, title, notes
        case imagesPerClass = "images_per_class", baselineSeed = "baseline_seed", labelsFile = "labels_file"
    }

    enum ResultKeys: String, CodingKey {
        case network, `protocol`, seeds, testAccuracies = "test_accuracies", testAccuracyMean = "test_accuracy_mean",
             testAccuracyStd = "test_accuracy_std", seconds
    }

    init(set: String, baseline: String?, imagesPerClass: Int?, baselineSeed: UInt64?, dataset: String, images: Int,
         classes: Int, labels: String, labelsFile: String?, title: String, result: NetworkEvaluationResult) {
        self.set = set; self.baseline = baseline; self.imagesPerClass = imagesPerClass; self.baselineSeed = baselineSeed
        self.dataset = dataset; self.images = images; self.classes = classes; self.labels = labels
        self.labelsFile = labelsFile; self.title = title; self.result = result
    }

    // The result's keys at the top level, beside the report's own.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        set = try c.decode(String.self, forKey: .set)
        baseline = try c.decodeIfPresent(String.self, forKey: .baseline)
        imagesPerClass = try c.decodeIfPresent(Int.self, forKey: .imagesPerClass)
        baselineSeed = try c.decodeIfPresent(UInt64.self, forKey: .baselineSeed)
        dataset = try c.decode(String.self, forKey: .dataset)
        images = try c.decode(Int.self, forKey: .images)
        classes = try c.decode(Int.self, forKey: .classes)
        labels = try c.decode(String.self, forKey: .labels)
        labelsFile = try c.decodeIfPresent(String.self, forKey: .labelsFile)
        title = try c.decode(String.self, forKey: .title)
        notes = try c.decodeIfPresent([String].self, forKey: .notes) ?? []
        result = try NetworkEvaluationResult(from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(set, forKey: .set)
        try c.encode(baseline, forKey: .baseline)
        try c.encode(imagesPerClass, forKey: .imagesPerClass)
        try c.encode(baselineSeed, forKey: .baselineSeed)
        try c.encode(dataset, forKey: .dataset)
        try c.encode(images, forKey: .images)
        try c.encode(classes, forKey: .classes)
        try c.encode(labels, forKey: .labels)
        try c.encode(labelsFile, forKey: .labelsFile)
        try c.encode(title, forKey: .title)
        try c.encode(notes, forKey: .notes)
        try result.encode(to: encoder)
    }

    func json() throws -> String { try oneLineJSON() }

    /// The protocol in words, every setting that differs between runs included.
    var protocolSummary: String {
        let p = result.protocol, n = result.network
        let shape = n.kind == .convnet ? "width \(n.width), depth \(n.depth)"
            : "width \(n.width), \(n.depth) hidden layer\(n.depth == 1 ? "" : "s"), \(n.parameterisation.rawValue) parameterisation\(n.centred ? ", centred" : "")"
        let lossText = labels == "soft" ? "learned labels with \(p.softLabelLoss.rawValue)" : "class ids with cross-entropy"
        let augmentation: String
        switch p.augmentation {
        case nil: augmentation = "no augmentation"
        case .dsa: augmentation = "DSA-style crop/scale/rotation (one per batch)"
        case .dc(let a): augmentation = "DC-style crop \(a.cropPixels)/scale \(NumberText.shortest(a.scale))/rotation \(a.rotationDegrees) degrees (one per image)"
        }
        return "\(title) (\(shape)); \(lossText); SGD lr \(NumberText.shortest(p.learningRate)), momentum \(NumberText.shortest(p.momentum)), weight decay \(NumberText.shortest(p.weightDecay)), batch \(p.batchSize), \(counted(p.epochs, "epoch")), lr x \(NumberText.shortest(p.decayFactor)) at half; \(augmentation)"
    }

    var sentences: String {
        let r = result
        let what = baseline == nil ? "the \(images) images of \(set) (\(labelsFile ?? labels))"
            : "\(imagesPerClass ?? 0) \(set) \(imagesPerClass == 1 ? "image" : "images") per class"
                // The class means draw nothing: no seed to name.
                + (baseline == "class_means" ? "" : " (seed \(baselineSeed ?? 0)\(baseline == "random_real" ? ", drawn anew per network" : ""))")
        let perSeed = r.seeds.indices.map { i in
            r.diverged[i] ? "seed \(r.seeds[i]): diverged in epoch \(r.divergedAtEpoch[i] ?? 0), not tested"
                : "seed \(r.seeds[i]): \(format(100 * r.testAccuracies[i], 2))%"
        }.joined(separator: ", ")
        let divergedCount = r.diverged.filter { $0 }.count
        // One network tested: its accuracy, with no spread to give.
        let single = divergedCount == 0 ? "one seed" : "the one seed that did not diverge"
        let accuracy = divergedCount == r.seeds.count
            ? "No test accuracy: every network's training diverged (its loss or parameters became non-finite); \(perSeed)."
            : r.seeds.count - divergedCount == 1
            ? "Test accuracy \(format(100 * r.testAccuracyMean, 2))% (\(single): no spread); \(perSeed)."
            + (divergedCount == 0 ? "" : "\nDiverged: \(divergedCount) of \(counted(r.seeds.count, "network")) (training loss or parameters became non-finite); they are left out of the mean.")
            : "Test accuracy \(format(100 * r.testAccuracyMean, 2)) ± \(format(100 * r.testAccuracyStd, 2))% (mean ± population std over \(divergedCount == 0 ? "seeds" : "the \(counted(r.seeds.count - divergedCount, "seed")) that did not diverge")); \(perSeed)."
            + (divergedCount == 0 ? "" : "\nDiverged: \(divergedCount) of \(counted(r.seeds.count, "network")) (training loss or parameters became non-finite); they are left out of the mean and std.")
        return """
            \(counted(r.seeds.count, "network")) trained from scratch on \(what), tested on \(dataset)'s test split in \(format(r.seconds.reduce(0, +), 1)) s.
            Protocol: \(protocolSummary).
            \(accuracy)
            """ + notes.map { "\nNote: \($0)." }.joined()
    }
}
