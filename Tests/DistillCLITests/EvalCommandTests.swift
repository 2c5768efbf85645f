import DistillRun
import Foundation
import Testing
import Distill
import DistillIO
import DistillNumerics
@testable import DistillCLI
import DistillImages

/// `distill eval` on a folder the test writes: a small MNIST subset and a
/// distilled set of 10 real images written with IDX.write.
@Suite(.serialized) struct EvalCommandTests {
    struct Fixture {
        let scratch: ScratchFolder
        var data: String { scratch.path + "/data" }
        var set: String { scratch.path + "/set" }

        init(_ name: String = #function) throws {
            scratch = try ScratchFolder(name)
            try FileManager.default.createDirectory(atPath: scratch.path + "/data", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: scratch.path + "/set", withIntermediateDirectories: true)
            try RunEndToEndTests.writeSubset(to: scratch.path + "/data", train: 500, test: 200)
            // One real image of each class (the first of each in the subset), as float64.
            let images = try IDX.read(contentsOf: scratch.path + "/data/train-images-idx3-ubyte")
            let labels = try IDX.read(contentsOf: scratch.path + "/data/train-labels-idx1-ubyte")
            let ids = labels.doubles().map { Int($0) }
            let pixels = images.doubles()
            var chosen = [Double]()
            for c in 0..<10 {
                let i = try #require(ids.firstIndex(of: c))
                chosen += pixels[(i * 784)..<((i + 1) * 784)].map { $0 / 255 }
            }
            try IDX.write(IDXArray(shape: [10, 28, 28], elements: .float64(chosen)), to: set + "/distilled-images-idx3-float")
            try IDX.write(IDXArray(shape: [10], elements: .ubyte(Array(0..<10))), to: set + "/distilled-labels-idx1-ubyte")
        }

        func writeMetrics(_ json: String) throws {
            try OutputFile.write(Array(json.utf8), to: set + "/metrics.json")
        }

        func eval(_ extra: [String] = []) throws -> EvalReport {
            try DistillCommand.Eval.parse(["--distilled", set, "--data", data] + extra).evaluate()
        }
    }

    /// Eval trains the model the run used (recorded in metrics.json), names it,
    /// and reproduces the run's test accuracy; readability takes each image's
    /// class from the class-id file, not from its learned label.
    @Test(arguments: [["--model", "logistic"], ["--model", "ridge"], ["--model", "kernel-ridge"],
                      ["--hypergradient", "unrolled", "--unroll-steps", "30"]])
    func evalReproducesTheRunOfEachModel(model: [String]) throws {
        let f = try Fixture("eval\(model.joined())")
        defer { f.scratch.cleanUp() }
        let out = f.scratch.path + "/run"
        try DistillCommand.Run.parse(["--data", f.data, "--out", out, "--steps", "15", "--images-per-class", "2", "--quiet"] + model).run()
        let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")))
        let report = try DistillCommand.Eval.parse(["--distilled", out, "--data", f.data]).evaluate()
        #expect(report.model == metrics.model)
        #expect(abs(report.testAccuracy - metrics.testAccuracy) <= 0.003,
                "\(metrics.model): eval \(report.testAccuracy) vs run \(metrics.testAccuracy)")
        let readability = try #require(metrics.readability)
        #expect(abs(report.readability.minimumClassMeanCorrelation - readability.minimumClassMeanCorrelation) < 1e-5)
    }

    @Test func classLabelsWithTheL2OfMetricsJSON() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        try f.writeMetrics(#"{"l2": 0.1, "steps": 3}"#)
        let report = try f.eval()
        #expect(report.l2 == 0.1 && report.l2Source == "metrics.json l2")
        #expect(report.labels == "distilled-labels-idx1-ubyte" && report.images == 10 && report.classes == 10)
        #expect(report.innerConverged && report.innerGradientNorm <= report.innerTolerance)
        // Real digits: well above chance, and perfectly readable.
        #expect(report.testAccuracy > 0.3, "test accuracy \(report.testAccuracy)")
        #expect(report.readability.pixelsOutsideUnitRange == 0)
        #expect(report.readability.meanClassMeanCorrelation > 0.4)

        // The same model as training it by hand.
        let folder = try DatasetFolder.load(f.data)
        let test = LabeledImages(folder.test, classes: 10)
        let images = try IDX.read(contentsOf: f.set + "/distilled-images-idx3-float").doubles()
        var labels = Matrix(zeros: 10, 10)
        for c in 0..<10 { labels[c, c] = 1 }
        let w = NewtonCG(relativeTolerance: 1e-9).solve(SoftmaxRegression(
            images: Matrix(rows: 10, columns: 784, values: images), labels: labels, l2: 0.1)).weights
        #expect(report.testAccuracy == Evaluation(weights: w, on: test, threads: 2).accuracy)

        // learned_l2 wins over l2; --l2 wins over both.
        try f.writeMetrics(#"{"l2": 0.1, "learned_l2": 0.02}"#)
        #expect(try f.eval().l2Source == "metrics.json learned_l2")
        let overridden = try f.eval(["--l2", "0.5"])
        #expect(overridden.l2 == 0.5 && overridden.l2Source == "--l2")
    }

    @Test func softLabelsAreUsedAsGiven() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        // Soft labels: 0.7 on the class, 0.3 spread over the others; and class 3's
        // image labelled as class 5 mostly, to see the argmax taken.
        var soft = [Float](repeating: 0.3 / 9, count: 100)
        for c in 0..<10 { soft[c * 10 + c] = 0.7 }
        soft[3 * 10 + 3] = 0.1; soft[3 * 10 + 5] = 0.6
        try IDX.write(IDXArray(shape: [10, 10], elements: .float32(soft)), to: f.set + "/distilled-labels-idx2-float")
        let soft1 = try f.eval(["--l2", "0.1"])
        #expect(soft1.labels == "distilled-labels-idx2-float")
        try FileManager.default.removeItem(atPath: f.set + "/distilled-labels-idx2-float")
        let hard = try f.eval(["--l2", "0.1"])
        #expect(hard.labels == "distilled-labels-idx1-ubyte")
        #expect(soft1.trainLoss != hard.trainLoss)
        // Readability takes each image's class from the class-id file, not from the
        // largest learned label: image 3 still counts as class 3.
        #expect(soft1.readability == hard.readability)
    }

    /// `--model` other than the run's without `--l2` is refused (the NTK run's learned
    /// L2 strength was silently used for logistic regression), naming the file, both
    /// models, the recorded L2 and the `--l2` to give; with `--l2` it is evaluated.
    @Test func anotherModelThanTheRunsNeedsItsOwnL2() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        try f.writeMetrics(#"{"model": "ntk", "l2": 0.001, "learned_l2": 0.0048, "configuration": {"model": "ntk"}}"#)
        let expected = "\(f.set)/metrics.json: --model logistic is not the run's model (ntk), whose L2 strength (learned_l2 4.80e-03) is for ntk, not logistic; give --l2 for logistic (--l2 0.0048 uses the run's anyway)"
        #expect { try f.eval(["--model", "logistic"]) } throws: { error in String(describing: error) == expected }
        // A run whose metrics.json records its model at the top level only, and `l2` alone.
        try f.writeMetrics(#"{"model": "ridge", "l2": 0.1}"#)
        #expect { try f.eval(["--model", "logistic"]) } throws: { error in
            String(describing: error).hasSuffix("metrics.json: --model logistic is not the run's model (ridge), whose L2 strength (l2 1.00e-01) is for ridge, not logistic; give --l2 for logistic (--l2 0.1 uses the run's anyway)")
        }
        let given = try f.eval(["--model", "logistic", "--l2", "0.01"])
        #expect(given.model == "logistic" && given.l2 == 0.01 && given.l2Source == "--l2")
        // The run's own model, or a folder that records none, takes the recorded L2 as before.
        try f.writeMetrics(#"{"model": "logistic", "l2": 0.1, "learned_l2": 0.02}"#)
        #expect(try f.eval(["--model", "logistic"]).l2 == 0.02)
        try f.writeMetrics(#"{"l2": 0.1}"#)
        #expect(try f.eval(["--model", "logistic"]).l2 == 0.1)
        // Through the executable: one line on standard error, status 1.
        try f.writeMetrics(#"{"model": "ntk", "l2": 0.001, "learned_l2": 0.0048, "configuration": {"model": "ntk"}}"#)
        let eval = try distillCommand(["eval", "--distilled", f.set, "--data", f.data, "--model", "logistic"])
        #expect(eval.status == 1 && eval.stdout.isEmpty && eval.stderr == "error: " + expected + "\n", "\(eval.stderr)")
        let help = try distillCommand(["eval", "--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: #" +"#, with: " ", options: .regularExpression)
        #expect(help.contains("required with a --model other than the run's"), "\(help)")
    }

    @Test func aMissingL2IsAnErrorNamingWhatWasMissing() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        #expect { try f.eval() } throws: { error in
            String(describing: error).contains("metrics.json: not found, and no --l2 given")
        }
        try f.writeMetrics(#"{"steps": 3}"#)
        #expect { try f.eval() } throws: { error in
            String(describing: error).contains("expected the L2 strength under learned_l2 or l2, found neither")
        }
        try f.writeMetrics(#"{"l2": -1}"#)
        #expect { try f.eval() } throws: { error in
            String(describing: error).contains("expected a positive number under l2, found -1")
        }
    }

    @Test func shapeMismatchesNameTheFileAndTheShapes() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        try IDX.write(IDXArray(shape: [10, 14, 56], elements: .float32(.init(repeating: 0, count: 7840))),
                      to: f.set + "/distilled-images-idx3-float")
        #expect { try f.eval(["--l2", "0.1"]) } throws: { error in
            let text = String(describing: error)
            return text.contains("distilled-images-idx3-float: expected shape m x 28 x 28") && text.contains("found [10, 14, 56]")
        }
        try IDX.write(IDXArray(shape: [10, 28, 28], elements: .ubyte(.init(repeating: 0, count: 7840))),
                      to: f.set + "/distilled-images-idx3-float")
        try IDX.write(IDXArray(shape: [9], elements: .ubyte(Array(0..<9))), to: f.set + "/distilled-labels-idx1-ubyte")
        #expect { try f.eval(["--l2", "0.1"]) } throws: { error in
            String(describing: error).contains("distilled-labels-idx1-ubyte: expected shape [10] (one class id per image), found [9]")
        }
        try IDX.write(IDXArray(shape: [10], elements: .ubyte(Array(0..<10))), to: f.set + "/distilled-labels-idx1-ubyte")
        try IDX.write(IDXArray(shape: [10, 3], elements: .float32(.init(repeating: 0, count: 30))), to: f.set + "/distilled-labels-idx2-float")
        #expect { try f.eval(["--l2", "0.1"]) } throws: { error in
            String(describing: error).contains("distilled-labels-idx2-float: expected shape [10, 10]")
        }
    }

    @Test func optionsAreValidatedAndTheJSONIsOneObject() throws {
        #expect(throws: (any Error).self) { try DistillCommand.Eval.parse([]) }
        #expect(throws: (any Error).self) { try DistillCommand.Eval.parse(["--distilled", "x", "--l2", "0"]) }
        #expect(throws: (any Error).self) { try DistillCommand.Eval.parse(["--distilled", "x", "--threads", "0"]) }
        let command = try DistillCommand.parseAsRoot(["eval", "--distilled", "x", "--json"])
        #expect((command as? DistillCommand.Eval)?.json == true)

        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        let json = try f.eval(["--l2", "0.1"]).json()
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        for key in ["test_accuracy", "test_loss", "train_accuracy", "train_loss", "inner_gradient_norm", "l2", "readability"] {
            #expect(object[key] != nil, "no \(key)")
        }
        let readability = try #require(object["readability"] as? [String: Any])
        #expect((readability["class_mean_correlation"] as? [String: Any])?["min"] != nil)
        #expect(!json.contains("\n"))
    }

    /// A class tree of 3 classes of 12x12 RGB images, 10 each (a single tree: it needs --test-fraction).
    static func colourTree(_ path: String) throws {
        for c in 0..<3 {
            try FileManager.default.createDirectory(atPath: "\(path)/class\(c)", withIntermediateDirectories: true)
            for i in 0..<10 {
                let pixels = OwnDataTests.colourImage(class: c, classes: 3, seed: 10 * c + i).prefix(12 * 12 * 3)
                try PNGImage(width: 12, height: 12, channels: 3, pixels: Array(pixels)).write(to: "\(path)/class\(c)/\(i).png")
            }
        }
    }

    /// Without --data, eval uses the dataset the run's metrics.json records (its path
    /// and split), names it, and checks its files' SHA-256 as --resume does; a moved
    /// dataset is one line; --data still wins.
    @Test func withoutDataTheRunsRecordedDatasetAndSplitAreUsed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = scratch.path + "/png2", out = scratch.path + "/out"
        try Self.colourTree(tree)
        try DistillCommand.Run.parse(["--data", tree, "--test-fraction", "0.2", "--images-per-class", "2", "--steps", "5",
                                      "--out", out, "--quiet"]).run()
        let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")))

        let report = try DistillCommand.Eval.parse(["--distilled", out]).evaluate()
        #expect(report.dataset == tree && report.datasetSource == "metrics.json" && report.classes == 3 && report.images == 6)
        #expect(abs(report.testAccuracy - metrics.testAccuracy) <= 1e-9)
        let first = try #require(report.sentences.split(separator: "\n").first)
        #expect(first.contains("on \(tree) (recorded in \(out)/metrics.json, --test-fraction 0.2 --split-seed 0; files' SHA-256 as recorded)"), "\(first)")
        #expect(try report.json().contains(#""dataset_source":"metrics.json""#))

        // A split option given without --data must be the recorded one.
        #expect { try DistillCommand.Eval.parse(["--distilled", out, "--test-fraction", "0.5"]).evaluate() } throws: { error in
            String(describing: error) == "--test-fraction 0.5: \(out) was made from \(tree) with --test-fraction 0.2, which eval uses; leave --test-fraction out, or pass --data to read another split"
        }
        // --data wins (here a copy of the tree, read with the split given).
        let copy = scratch.path + "/copy"
        try FileManager.default.copyItem(atPath: tree, toPath: copy)
        let given = try DistillCommand.Eval.parse(["--distilled", out, "--data", copy, "--test-fraction", "0.2"]).evaluate()
        #expect(given.dataset == copy && given.datasetSource == "--data" && given.testAccuracy == report.testAccuracy)
        #expect(report.classWarning == nil && given.classWarning == nil)

        // Changed files: refused as --resume refuses them.
        try FileManager.default.removeItem(atPath: tree + "/class0/0.png")
        try FileManager.default.copyItem(atPath: tree + "/class0/1.png", toPath: tree + "/class0/0.png")
        #expect { try DistillCommand.Eval.parse(["--distilled", out]).evaluate() } throws: { error in
            String(describing: error) == "\(tree): the dataset files differ from the ones \(out) was made with (SHA-256 mismatch); pass --data to evaluate on these files anyway"
        }
        // Gone: one line.
        try FileManager.default.removeItem(atPath: tree)
        #expect { try DistillCommand.Eval.parse(["--distilled", out]).evaluate() } throws: { error in
            String(describing: error) == "\(out) was made from \(tree), which is not there; pass --data"
        }
        // Recorded as a relative path (as the run was given it): said to be relative to where the run started.
        let metricsFile = out + "/metrics.json"
        let text = try String(contentsOfFile: metricsFile, encoding: .utf8)
        #expect(text.contains("\"\(tree)\""))
        try text.replacingOccurrences(of: "\"\(tree)\"", with: "\"gone-relative/tree\"").write(toFile: metricsFile, atomically: true, encoding: .utf8)
        #expect { try DistillCommand.Eval.parse(["--distilled", out]).evaluate() } throws: { error in
            String(describing: error) == "\(out) was made from gone-relative/tree (a path relative to the folder the run was started in), which is not there from here; run eval from that folder, or pass --data"
        }
    }

    /// A dataset whose classes are named otherwise than the run recorded them (a
    /// PNG tree with a folder renamed, which moves the classes' order) is warned
    /// of, naming both lists: the set's labels are matched to its classes by
    /// position, and the accuracy measured so means nothing (it was silent).
    @Test func classesNamedOtherwiseThanTheRunsAreWarnedOf() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = scratch.path + "/tree", out = scratch.path + "/out", renamed = scratch.path + "/renamed"
        try Self.colourTree(tree)
        try DistillCommand.Run.parse(["--data", tree, "--test-fraction", "0.2", "--images-per-class", "1", "--steps", "3",
                                      "--out", out, "--quiet"]).run()
        try FileManager.default.copyItem(atPath: tree, toPath: renamed)
        try FileManager.default.moveItem(atPath: renamed + "/class2", toPath: renamed + "/a-class2")
        let report = try DistillCommand.Eval.parse(["--distilled", out, "--data", renamed, "--test-fraction", "0.2"]).evaluate()
        #expect(report.classWarning == "warning: \(renamed) has the classes 'a-class2', 'class0', 'class1', but \(out)/metrics.json records 'class0', 'class1', 'class2' (other classes); the set's labels are taken as the dataset's classes by position, so what is measured may mean nothing")
        // Said on standard error, before the result; the JSON on standard output stays one object.
        let result = try distillCommand(["eval", "--distilled", out, "--data", renamed, "--test-fraction", "0.2", "--json"])
        #expect(result.status == 0)
        #expect(result.stderr == report.classWarning.map { $0 + "\n" })
        #expect(result.stdout.hasPrefix("{") && result.stdout.split(separator: "\n").count == 1)
        // The same names in another order are said so.
        #expect(DistilledSet.classNamesWarning(folder: out, datasetPath: "d", classNames: ["class1", "class0", "class2"])?
            .contains("(the same names in another order)") == true)
    }
}
