import ArgumentParser
import Distill
import DistillIO
import DistillDatasets
import DistillImages
import DistillNumerics
import DistillRun
import Foundation

extension DistillCommand {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Test a distilled set (IDX files) on a dataset's test split with its inner model, or train networks on it or on a baseline set (--network, --baseline).",
            discussion: """
                Reads the synthetic images `distilled-images-idx3-float` (any IDX numeric type, \
                shape m x H x W with the dataset's image size, m x H x W x C for colour) and their labels from the folder \
                given by `--distilled`: `distilled-labels-idx2-float` (m x C soft labels, used as \
                they are) if it is there, else `distilled-labels-idx1-ubyte` (each image's label as \
                the dataset's files give it, e.g. 1, 3, 7 for a dataset labelled so; the class index \
                for a PNG tree; made one-hot). The files may come from `distill run` or from any other tool.

                The test split is that of `--data` (with the split options given); without \
                `--data`, of the dataset the folder's metrics.json records (`dataset`, read with \
                its recorded `test_fraction`, `split_seed` and `label_set`; its files must have the \
                SHA-256 recorded in `dataset_sha256`, as for `run --resume`), else of data/mnist. \
                The first line says which.

                It trains the inner model the run used (`model` and its settings in the folder's \
                metrics.json; `--model` for a set made elsewhere, logistic by default) on them \
                alone to optimality (certified to 1e-9 of the gradient norm at zero), with the L2 \
                strength from `--l2`, else from `learned_l2` or `l2` in metrics.json. A `--model` \
                other than the run's is refused without `--l2`: the run's L2 strength is its own \
                model's (an ntk run's means nothing to logistic). It prints \
                which model it trained, its test accuracy and loss, its training loss and \
                accuracy, the gradient norm reached, and the images' readability: their Pearson \
                correlation with their class's mean training image (mean and minimum; an image's \
                class is its id in `distilled-labels-idx1-ubyte` when that file is there, else its \
                largest label) and the fraction of pixels outside [0, 1].

                With `--network` it trains networks from scratch on the set instead (MLP or \
                ConvNet-3, DC's protocol; see the Network evaluation options), or on a baseline \
                set with `--baseline`, on `--threads` threads.

                Examples:
                  distill eval --distilled out
                  distill eval --distilled out --network convnet --seeds 5
                  distill eval --distilled out-10 --data ~/datasets/fashion-mnist --json
                  distill eval --distilled their-set --l2 0.1
                """)

        @Option(help: "The folder holding the distilled set (images, labels and optionally metrics.json); required unless --baseline is given.")
        var distilled: String?

        @OptionGroup var dataOptions: DataOptionGroup<EvalDataDefault>

        @Option(parsing: .unconditional, help: "The L2 strength of the model trained on the set (positive); required with a --model other than the run's, whose recorded L2 strength is for its own model. (default: the one in the set's metrics.json)")
        var l2: Double?

        @Option(help: ArgumentHelp("The inner model to train on the set. \(choiceText(InnerModels.names, defaults: "the one in the set's metrics.json, else logistic"))",
                                   valueName: InnerModels.names.joined(separator: "|")))
        var model: String?

        var threads: Int { dataOptions.threads }

        @Flag(help: "Print the results as one JSON object instead of sentences.")
        var json = false

        @Flag(help: "Print only errors and the results: with --network, no line before training (what will be trained, and how long it will take) nor as each network finishes.")
        var quiet = false

        @OptionGroup(title: "Network evaluation") var networkOptions: EvalNetworkOptions

        func validate() throws {
            try refuseEmptyPath("--distilled", distilled)
            try refuseSubnormal([("--l2", l2)])
            if let l2 { guard isPositiveNormal(l2) else { throw ValidationError("--l2: expected a positive number, found '\(l2)'") } }
            if let model, !InnerModels.names.contains(model) {
                throw ValidationError("--model: expected one of \(ValueErrorText.alternatives(InnerModels.names)), found '\(model)'")
            }
            try networkOptions.validate(distilled: distilled, model: model, l2: l2)
        }

        func run() throws {
            try reportingFailure { () throws(CLIError) in
                do {
                    if networkOptions.network != nil {
                        let report = try evaluateNetworks()
                        print(json ? try report.json() : report.sentences)
                        return
                    }
                    let report = try evaluate()
                    if let warning = report.classWarning { printError(warning) }
                    print(json ? try report.json() : report.sentences)
                } catch { throw CLIError(error) }
            }
        }

        /// Loads the dataset and the distilled set, trains the run's model and measures.
        func evaluate() throws -> EvalReport {
            guard let distilled else { throw DistilledSetError(description: "--distilled: expected the folder of a distilled set, found none") }
            try refuseAnotherModelsL2(distilled)
            let clock = Stopwatch()
            let source = try EvalDataset.choose(dataOptions, distilled: distilled)
            let dataset = try source.load(distilled: distilled)
            let train = dataset.train, test = dataset.test
            let set = try DistilledSet.load(distilled, shape: dataset.shape, classes: dataset.classes, classValues: dataset.classValues)
            let classWarning = DistilledSet.classNamesWarning(folder: distilled, datasetPath: source.path, classNames: dataset.classNames)
            let (l2, l2Source) = try self.l2.map { ($0, "--l2") } ?? DistilledSet.l2(in: distilled)
            // With --model, a metrics.json of another version is no obstacle.
            let recorded = model == nil ? try DistilledSet.configuration(in: distilled) : try? DistilledSet.configuration(in: distilled)
            var configuration = recorded ?? DistillerConfiguration()
            if let model { configuration.model = model }
            configuration.innerTolerance = 1e-9
            configuration.threads = threads
            let inner = try InnerModels.make(configuration, train: train)
            let fit = inner.fit(images: set.images, labels: set.labels, l2: l2, from: nil)
            let trainEval = inner.evaluate(fit, on: train, threads: threads)
            let testEval = inner.evaluate(fit, on: test, threads: threads)
            let readability = Readability(images: set.images, classes: set.classes,
                                          classMeans: try Initialisation.classMeans(train), channels: dataset.shape.channels)
            return EvalReport(
                distilled: distilled, dataset: source.path, datasetSource: source.source, datasetText: source.description, model: inner.name, images: set.images.rows, classes: dataset.classes,
                labels: set.labelsFile, l2: l2, l2Source: l2Source,
                testAccuracy: testEval.accuracy, testLoss: testEval.loss,
                trainAccuracy: trainEval.accuracy, trainLoss: trainEval.loss,
                innerGradientNorm: fit.gradientNorm, innerTolerance: fit.tolerance,
                innerIterations: fit.iterations, innerConverged: fit.converged,
                readability: readability, seconds: clock.seconds, classWarning: classWarning)
        }
    }
}

extension DistillCommand.Eval {
    /// Refuses, before anything is loaded, `--model` other than the model of the
    /// run in `distilled` (its metrics.json's `configuration.model`, else `model`)
    /// without `--l2`: the L2 strength the run records was learned or chosen for
    /// its own model (an NTK run's 4.7e-3 means nothing to logistic regression),
    /// so the one for `--model` must be given; the message offers the run's value
    /// to use it anyway. A folder without a recorded model (a set made by another
    /// tool) is not refused.
    ///
    /// - Throws: `DistilledSetError` naming metrics.json, both models, the recorded
    ///   L2 strength and the `--l2` to give.
    func refuseAnotherModelsL2(_ distilled: String) throws {
        guard let model, l2 == nil, let recorded = DistilledSet.recordedModel(in: distilled), recorded != model else { return }
        let (value, source) = try DistilledSet.l2(in: distilled)
        let key = source.hasPrefix("metrics.json ") ? String(source.dropFirst("metrics.json ".count)) : source
        throw DistilledSetError(description: "\(distilled)/\(RunFiles.metrics): --model \(model) is not the run's model (\(recorded)), whose L2 strength (\(key) \(scientific(value))) is for \(recorded), not \(model); give --l2 for \(model) (--l2 \(NumberText.shortest(value)) uses the run's anyway)")
    }
}

/// What `distill eval` measured. Accuracies are fractions; losses mean cross-entropies.
struct EvalReport: Codable, Equatable {
    var distilled: String
    var dataset: String
    /// Where the dataset came from: `--data`, `metrics.json` (the run's own,
    /// `EvalDataset`) or `default` (`--data`'s default).
    var datasetSource: String
    /// The dataset as the sentences name it (`EvalDataset.description`); not in the JSON.
    var datasetText: String = ""
    /// The inner model trained on the set.
    var model: String
    var images: Int
    var classes: Int
    /// The labels file used (its name in the distilled folder).
    var labels: String
    var l2: Double
    /// Where the L2 strength came from: `--l2`, or `metrics.json learned_l2` / `metrics.json l2`.
    var l2Source: String
    var testAccuracy: Double
    var testLoss: Double
    var trainAccuracy: Double
    var trainLoss: Double
    var innerGradientNorm: Double
    var innerTolerance: Double
    var innerIterations: Int
    var innerConverged: Bool
    var readability: Readability
    var seconds: Double
    /// "warning: ..." when the dataset names its classes otherwise than the run
    /// that made the set recorded them (`DistilledSet.classNamesWarning`); said on
    /// standard error, not in the JSON.
    var classWarning: String? = nil

    enum CodingKeys: String, CodingKey {
        case distilled, dataset, model, images, classes, labels, l2, readability, seconds
        case datasetSource = "dataset_source"
        case l2Source = "l2_source"
        case testAccuracy = "test_accuracy", testLoss = "test_loss"
        case trainAccuracy = "train_accuracy", trainLoss = "train_loss"
        case innerGradientNorm = "inner_gradient_norm", innerTolerance = "inner_tolerance"
        case innerIterations = "inner_iterations", innerConverged = "inner_converged"
    }

    func json() throws -> String { try oneLineJSON() }

    /// `, per channel 0.930, 0.922, 0.999 on average` for colour images; empty for grey.
    var channelText: String {
        guard let channels = readability.meanChannelCorrelations else { return "" }
        return ", per channel " + channels.map { format($0, 3) }.joined(separator: ", ") + " on average"
    }

    var sentences: String {
        """
        \(counted(images, "distilled image")) (\(labels), L2 \(scientific(l2)) from \(l2Source)) evaluated with the \(model) model on \(datasetText.isEmpty ? dataset : datasetText) in \(format(seconds, 2)) s.
        Test accuracy \(format(100 * testAccuracy, 2))%, test loss \(format(testLoss, 4)); train accuracy \(format(100 * trainAccuracy, 2))%, train loss \(format(trainLoss, 4)).
        Inner solve: \(counted(innerIterations, "iteration")), gradient norm \(scientific(innerGradientNorm)) (tolerance \(scientific(innerTolerance))\(innerConverged ? "" : ", NOT MET")).
        Readability: correlation with the class mean images \(format(readability.meanClassMeanCorrelation, 3)) on average, \(format(readability.minimumClassMeanCorrelation, 3)) at least\(channelText); \(format(100 * readability.pixelsOutsideUnitRange, 2))% of pixels outside [0, 1].
        """
    }
}

/// Why a distilled folder cannot be evaluated: the file and what was expected versus found.
struct DistilledSetError: Error, CustomStringConvertible, Equatable {
    let description: String
}

/// A distilled set as read from its folder (the files `RunFiles` names).
struct DistilledSet {
    /// `m x features`.
    let images: Matrix
    /// `m x C`: the soft labels as given, or one-hot rows of the class ids.
    let labels: Matrix
    /// Each image's class: its id from the class-id file when there is one, else
    /// the column of its largest soft label.
    let classes: [Int]
    /// The labels file that was read (the soft labels when both exist).
    let labelsFile: String

    /// Reads the set in `folder` for a dataset of `shape` and `classes` classes whose
    /// files number class `k` as `classValues[k]` (`Dataset.classValues`; nil: the
    /// class indices): the class-id file holds those values, as `distill run` writes them.
    static func load(_ folder: String, shape: ImageShape, classes: Int, classValues: [Int]? = nil) throws -> DistilledSet {
        let imagesPath = folder + "/" + RunFiles.images
        let expected = shape.channels == 1 ? [shape.height, shape.width] : [shape.height, shape.width, shape.channels]
        let imagesShape = "m x " + expected.map(String.init).joined(separator: " x ")
        let imageArray = try IDX.read(contentsOf: imagesPath, expecting: IDXExpectedRank(
            [expected.count + 1], "rank \(expected.count + 1) (\(imagesShape), the dataset's image shape)"))
        guard imageArray.shape.count == expected.count + 1, Array(imageArray.shape.dropFirst()) == expected else {
            throw DistilledSetError(description: "\(imagesPath): expected shape \(imagesShape) (the dataset's image shape), found \(imageArray.shape)")
        }
        try imageArray.validateFinite(path: imagesPath)
        let m = imageArray.shape[0]
        let images = Matrix(rows: m, columns: shape.features, values: imageArray.doubles())

        let softPath = folder + "/" + RunFiles.softLabels, classPath = folder + "/" + RunFiles.classLabels
        let hasSoft = FileManager.default.fileExists(atPath: softPath), hasIds = FileManager.default.fileExists(atPath: classPath)
        guard hasSoft || hasIds else {
            throw DistilledSetError(description: "\(folder): expected labels in \(RunFiles.softLabels) or \(RunFiles.classLabels), found neither")
        }
        var ids: [Int]?
        if hasIds {
            let array = try IDX.read(contentsOf: classPath, expecting: IDXExpectedRank([1], "rank 1 (one class id per image)"))
            guard array.shape == [m] else {
                throw DistilledSetError(description: "\(classPath): expected shape [\(m)] (one class id per image), found \(array.shape)")
            }
            let values = array.doubles()
            let known = classValues ?? Array(0..<classes)
            var index: [Double: Int] = [:]
            for (k, value) in known.enumerated() { index[Double(value)] = k }
            if let bad = values.firstIndex(where: { index[$0] == nil }) {
                let expected = classValues == nil ? "a class id in 0..<\(classes)"
                    : "one of the dataset's label values (\(Self.listed(known)))"
                throw DistilledSetError(description: "\(classPath): label \(bad) is \(Self.labelText(values[bad])): expected \(expected)")
            }
            ids = values.map { index[$0] ?? 0 }
        }
        if hasSoft {
            let array = try IDX.read(contentsOf: softPath, expecting: IDXExpectedRank(
                [2], "rank 2 (one row of \(classes) class labels per image)"))
            guard array.shape == [m, classes] else {
                throw DistilledSetError(description: "\(softPath): expected shape [\(m), \(classes)] (one row of \(classes) class labels per image), found \(array.shape)")
            }
            try array.validateFinite(path: softPath)
            let labels = Matrix(rows: m, columns: classes, values: array.doubles())
            let argmax = (0..<m).map { j in (0..<classes).max { labels[j, $0] < labels[j, $1] } ?? 0 }
            return DistilledSet(images: images, labels: labels, classes: ids ?? argmax, labelsFile: RunFiles.softLabels)
        }
        let classIds = ids ?? []
        var labels = Matrix(zeros: m, classes)
        for (j, c) in classIds.enumerated() { labels[j, c] = 1 }
        return DistilledSet(images: images, labels: labels, classes: classIds, labelsFile: RunFiles.classLabels)
    }

    /// The class names the folder's metrics.json records (`class_names`, in class
    /// order), or nil when it has none (a set made by another tool).
    static func recordedClassNames(in folder: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: folder + "/" + RunFiles.metrics),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["class_names"] as? [String]
    }

    /// The inner model the run that made the set in `folder` used, as its
    /// metrics.json records it (`configuration.model`, else `model`), or nil when
    /// it records none (no metrics.json, a set made by another tool).
    static func recordedModel(in folder: String) -> String? {
        guard let data = FileManager.default.contents(atPath: folder + "/" + RunFiles.metrics),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (object["configuration"] as? [String: Any])?["model"] as? String ?? object["model"] as? String
    }

    /// A warning when the dataset at `datasetPath` names its classes (`classNames`,
    /// in class order) otherwise than the run that made the set in `folder`
    /// recorded them: the set's labels are columns (or class ids) in class order,
    /// so they are matched to the dataset's classes by position, and an accuracy
    /// measured so may mean nothing (a PNG tree whose folders are named otherwise
    /// gave 0%). Nil when they agree or nothing is recorded.
    static func classNamesWarning(folder: String, datasetPath: String, classNames: [String]) -> String? {
        guard let recorded = recordedClassNames(in: folder), recorded != classNames else { return nil }
        let order = Set(recorded) == Set(classNames) ? "the same names in another order" : "other classes"
        return "warning: \(datasetPath) has the classes \(Self.names(classNames)), but \(folder)/\(RunFiles.metrics) records \(Self.names(recorded)) (\(order)); "
            + "the set's labels are taken as the dataset's classes by position, so what is measured may mean nothing"
    }

    /// `names` quoted and joined by commas; the first 8, then how many in all, when long.
    static func names(_ names: [String]) -> String {
        let quoted = names.map { "'\($0)'" }
        return names.count <= 10 ? quoted.joined(separator: ", ") : quoted.prefix(8).joined(separator: ", ") + ", ... (\(names.count) classes)"
    }

    /// A label as written: an integer without a fraction, else its shortest text.
    static func labelText(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : NumberText.shortest(x)
    }

    /// `values` joined by commas; the first 8, then how many more, when long.
    static func listed(_ values: [Int]) -> String {
        values.count <= 10 ? values.map(String.init).joined(separator: ", ")
            : values.prefix(8).map(String.init).joined(separator: ", ") + ", ... (\(values.count) values)"
    }

    /// The run's configuration in the folder's metrics.json (its model and the
    /// model's settings), or nil when there is no metrics.json.
    static func configuration(in folder: String) throws -> DistillerConfiguration? {
        let path = folder + "/" + RunFiles.metrics
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        struct Recorded: Decodable {
            var configuration: RecordedConfiguration?
        }
        do {
            return try JSONDecoder().decode(Recorded.self, from: data).configuration?.values
        } catch let error as DecodingError {
            throw DistilledSetError(description: "\(path): expected the configuration of a Distill \(DistillVersion.current) run (\(error.shortDescription)); pass --model and --l2 to evaluate it anyway")
        }
    }

    /// The L2 strength in the folder's metrics.json: `learned_l2` if present, else `l2`.
    static func l2(in folder: String) throws -> (Double, String) {
        let path = folder + "/" + RunFiles.metrics
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DistilledSetError(description: "\(path): not found, and no --l2 given: expected the L2 strength from --l2 or from learned_l2 or l2 in metrics.json")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DistilledSetError(description: "\(path): expected a JSON object, found something else")
        }
        for key in ["learned_l2", "l2"] {
            guard let value = object[key] else { continue }
            guard let number = (value as? NSNumber)?.doubleValue, number > 0, number.isFinite else {
                throw DistilledSetError(description: "\(path): expected a positive number under \(key), found \(value)")
            }
            return (number, "metrics.json " + key)
        }
        throw DistilledSetError(description: "\(path): expected the L2 strength under learned_l2 or l2, found neither (pass --l2)")
    }
}
