import DistillRun
import Foundation
import Testing
import Distill
import DistillIO
import DistillDatasets
import DistillNumerics
import _TestSupport
@testable import DistillCLI
import DistillImages

/// A unique scratch folder under /tmp, removed by `cleanUp()`.
struct ScratchFolder {
    let path: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "distill-cli-\(safe)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct RunOptionTests {
    @Test func defaultsAreTheDocumentedOnes() throws {
        let run = try DistillCommand.Run.parse([])
        #expect(run.options.data == "data/mnist")
        #expect(run.imagesPerClass == 1)
        #expect(run.outputFolder == "out")
        #expect(run.options.initialisation == nil)
        #expect(run.distillerConfiguration.initialisation == DistillerConfiguration().initialisation)
        #expect(run.distillerConfiguration == DistillerConfiguration())
    }

    @Test func unsetOptionsTakeTheModelsDefaultsAndSetOnesWin() throws {
        for name in InnerModels.names {
            let defaults = try InnerModels.defaultConfiguration(model: name)
            #expect(defaults.model == name)
            #expect(try DistillCommand.Run.parse(["--model", name]).distillerConfiguration == defaults)
        }
        // The logistic model keeps the shared defaults.
        #expect(try InnerModels.defaultConfiguration(model: "logistic") == DistillerConfiguration())
        // The kernel models have their own, and an option the user sets wins over them.
        let ntk = try InnerModels.defaultConfiguration(model: "ntk")
        #expect(ntk != { var c = DistillerConfiguration(); c.model = "ntk"; return c }())
        let set = try DistillCommand.Run.parse(["--model", "ntk", "--pull", "0.5", "--steps", "7", "--init", "noise", "--depth", "2",
                                                "--learn-labels", "off", "--outer-loss", "cross-entropy"]).distillerConfiguration
        #expect(set.pull == 0.5 && set.steps == 7 && set.initialisation == .noise && set.kernelDepth == 2)
        #expect(!set.learnLabels && set.outerLoss == .crossEntropy)
        #expect(set.learningRate == ntk.learningRate && set.l2 == ntk.l2 && set.schedule == ntk.schedule)
    }

    @Test func theNTKsDefaultOuterLossDependsOnTheSize() throws {
        let from = NTKModel.meanSquaredErrorFromImagesPerClass
        for (size, loss) in [(1, KernelOuterLoss.crossEntropy), (from - 1, .crossEntropy), (from, .meanSquaredError), (from + 50, .meanSquaredError)] {
            let parsed = try DistillCommand.Run.parse(["--model", "ntk", "--images-per-class", "\(size)"]).distillerConfiguration
            #expect(parsed.outerLoss == loss)
            #expect(parsed == (try InnerModels.defaultConfiguration(model: "ntk", imagesPerClass: size)))
            // The NNGP was not measured at large sizes and keeps cross-entropy; a loss the user gives wins.
            #expect(try DistillCommand.Run.parse(["--model", "nngp", "--images-per-class", "\(size)"]).distillerConfiguration.outerLoss == .crossEntropy)
            let other: KernelOuterLoss = loss == .crossEntropy ? .meanSquaredError : .crossEntropy
            let given = try DistillCommand.Run.parse(["--model", "ntk", "--images-per-class", "\(size)", "--outer-loss", other.rawValue])
            #expect(given.distillerConfiguration.outerLoss == other)
            // The rerun command names the loss only when it is not the default at that size.
            #expect(!RerunCommand.settings(parsed).contains("--outer-loss"))
            #expect(RerunCommand.settings(given.distillerConfiguration).contains(other.rawValue))
        }
        let help = DistillCommand.helpMessage(for: DistillCommand.Run.self, columns: 400)
        #expect(help.contains("(values: mse, cross-entropy; default: cross-entropy; ntk from \(from) images per class: mse)"))
    }

    @Test func theHelpSaysTheDefaultsDependOnTheModel() {
        let help = DistillCommand.helpMessage(for: DistillCommand.Run.self, columns: 1000)
        #expect(help.contains("The defaults of the other options depend on it."))
        let ntk = try? InnerModels.defaultConfiguration(model: "ntk")
        #expect(help.contains("(default: \(DistillerConfiguration().pull); nngp, ntk: \(ntk?.pull ?? -1))"))
    }

    @Test func runIsTheDefaultSubcommand() throws {
        let command = try DistillCommand.parseAsRoot(["--images-per-class", "3"])
        let run = try #require(command as? DistillCommand.Run)
        #expect(run.imagesPerClass == 3)
    }

    @Test func everyOptionIsParsed() throws {
        let run = try DistillCommand.Run.parse([
            "--data", "d", "--images-per-class", "5", "--steps", "7", "--learning-rate", "0.5", "--l2", "0.01",
            "--seed", "42", "--init", "mean", "--out", "o", "--threads", "3", "--inner-tolerance", "1e-8",
            "--linear-solve-tolerance", "1e-6", "--zoom", "2", "--quiet",
        ])
        let c = run.distillerConfiguration
        #expect(run.options.data == "d" && run.outputFolder == "o" && run.zoom == 2 && run.quiet)
        #expect(c.imagesPerClass == 5 && c.steps == 7 && c.learningRate == 0.5 && c.l2 == 0.01)
        #expect(c.seed == 42 && c.initialisation == .mean && c.threads == 3)
        #expect(c.innerTolerance == 1e-8 && c.linearSolveTolerance == 1e-6)
    }

    @Test(arguments: [
        (["--steps", "0"], "--steps: expected at least 1"),
        (["--steps=-3"], "--steps: expected at least 1"),
        (["--images-per-class", "0"], "--images-per-class: expected at least 1"),
        (["--learning-rate", "0"], "--learning-rate: expected a positive number"),
        (["--learning-rate=-1"], "--learning-rate: expected a positive number"),
        (["--learning-rate", "nan"], "--learning-rate: expected a positive number"),
        (["--l2", "0"], "--l2: expected a positive number"),
        (["--l2=-0.1"], "--l2: expected a positive number"),
        (["--threads", "0"], "--threads: expected at least 1"),
        (["--inner-tolerance", "2"], "--inner-tolerance: expected a value strictly between 0 and 1"),
        (["--linear-solve-tolerance", "0"], "--linear-solve-tolerance: expected a value strictly between 0 and 1"),
        (["--zoom", "0"], "--zoom: expected a value between 1 and 64"),
    ])
    func badValuesAreRejectedWithASentence(arguments: [String], message: String) {
        do {
            _ = try DistillCommand.Run.parse(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            #expect(DistillCommand.Run.message(for: error).contains(message))
            #expect(DistillCommand.Run.exitCode(for: error) == .validationFailure)
        }
    }

    @Test func anUnknownInitialisationIsRejected() {
        #expect(throws: (any Error).self) { try DistillCommand.Run.parse(["--init", "zeros"]) }
    }
}

/// The command end to end on a small real subset of MNIST, through the same
/// code path as `distill run`.
@Suite(.serialized) struct RunEndToEndTests {
    /// Writes the first `train` training and `test` test images of MNIST as a dataset folder.
    static func writeSubset(to folder: String, train: Int, test: Int) throws {
        let mnist = TestSupport.mnistFolder
        for (split, count) in [("train", train), ("t10k", test)] {
            let images = try IDX.read(contentsOf: "\(mnist)/\(split)-images-idx3-ubyte.gz")
            let labels = try IDX.read(contentsOf: "\(mnist)/\(split)-labels-idx1-ubyte.gz")
            guard case .ubyte(let pixels) = images.elements, case .ubyte(let classes) = labels.elements else {
                Issue.record("MNIST is not bytes"); return
            }
            try IDX.write(IDXArray(shape: [count, 28, 28], elements: .ubyte(Array(pixels[0..<(count * 784)]))),
                          to: "\(folder)/\(split)-images-idx3-ubyte", gzip: split == "train")
            try IDX.write(IDXArray(shape: [count], elements: .ubyte(Array(classes[0..<count]))),
                          to: "\(folder)/\(split)-labels-idx1-ubyte")
        }
    }

    @Test func distilsASubsetOfMNIST() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = scratch.path + "/data", out = scratch.path + "/out"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try Self.writeSubset(to: data, train: 3000, test: 1000)

        let run = try DistillCommand.Run.parse(["--data", data, "--out", out, "--steps", "40", "--quiet"])
        try run.run()

        // The files README promises, readable by our own readers.
        let metricsData = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))
        let metrics = try JSONDecoder().decode(RunMetrics.self, from: metricsData)
        let keys = try #require(JSONSerialization.jsonObject(with: metricsData) as? [String: Any]).keys
        for key in ["dataset", "classes", "image_height", "image_width", "images_per_class", "steps", "l2",
                    "train_loss", "train_accuracy", "test_loss", "test_accuracy", "inner_gradient_norm",
                    "seconds", "seconds_per_step"] {
            #expect(keys.contains(key), "metrics.json lacks \(key)")
        }
        #expect(metrics.classes == 10 && metrics.imageHeight == 28 && metrics.imageWidth == 28 && metrics.steps == 40)
        #expect(metrics.innerGradientNorm <= metrics.innerTolerance)

        let images = try IDX.read(contentsOf: out + "/distilled-images-idx3-float")
        #expect(images.shape == [10, 28, 28] && images.dataType == .float32)
        let labels = try IDX.read(contentsOf: out + "/distilled-labels-idx1-ubyte")
        #expect(labels.elements == .ubyte(Array(0..<10)))
        let grid = try PNGImage.read(contentsOf: out + "/distilled.png")
        // One image per class: the ten classes in one row.
        #expect(grid.width == 10 * 28 * 4 + 11 * 2 && grid.height == 1 * 28 * 4 + 2 * 2)

        let history = try String(contentsOfFile: out + "/history.csv", encoding: .utf8).split(separator: "\n")
        #expect(history.first?.hasPrefix("step,train_loss,inner_iterations,inner_gradient_norm,linear_solve_iterations,linear_solve_residual,seconds") == true)
        #expect(history.count == 41)
        let firstLoss = try #require(Double(history[1].split(separator: ",")[1]))
        // The stated margin: the default start (the class means) is already far below
        // chance (ln 10 = 2.30); 40 steps take at least a quarter off its loss.
        #expect(firstLoss < 2.3)
        #expect(metrics.trainLoss < 0.75 * firstLoss, "train loss \(metrics.trainLoss) from \(firstLoss)")

        // The baseline to beat: the same model trained on one random real image per class.
        let folder = try DatasetFolder.load(data)
        let train = LabeledImages(folder.train, classes: 10), test = LabeledImages(folder.test, classes: 10)
        var random = SplitMix64(seed: 1)
        let real = try Initialisation.real.images(from: train, imagesPerClass: 1, random: &random)
        let baselineModel = NewtonCG().solve(SoftmaxRegression(images: real, labels: TestSupport.oneHot(Array(0..<10), classes: 10), l2: 0.1))
        let baseline = Evaluation(weights: baselineModel.weights, on: test, threads: 2).accuracy
        #expect(metrics.testAccuracy > baseline + 0.1, "distilled \(metrics.testAccuracy) vs one real image per class \(baseline)")
    }

    @Test func aMissingDataFolderFailsWithoutWritingOutputs() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let run = try DistillCommand.Run.parse(["--data", scratch.path + "/nowhere", "--out", scratch.path + "/out", "--quiet"])
        #expect(throws: (any Error).self) { try run.run() }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out"))
    }
}
