import ArgumentParser
import Distill
import DistillImages
import DistillIO
@testable import DistillNetworks
import DistillNumerics
import DistillRun
import Foundation
import Testing
@testable import DistillCLI

/// `distill eval --network` and `distill sweep --network` on a small MNIST subset
/// (500 training, 200 test images) with MLPs trained for a few epochs.
@Suite(.serialized) struct EvalCommandNetworkTests {
    typealias Fixture = EvalCommandTests.Fixture

    static func json(_ report: NetworkEvalReport) throws -> [String: Any] {
        let text = try report.json()
        #expect(!text.contains("\n"))
        return try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// On a folder with class ids only: hard labels; the issue's JSON keys with
    /// every protocol setting; the same seeds give the same accuracies.
    @Test func aDistilledFolderWithTheIssuesJSONKeys() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        let report = try f.evalNetwork(["--network", "mlp", "--epochs", "3", "--seeds", "2"])
        let object = try Self.json(report)
        for key in ["network", "protocol", "seeds", "test_accuracies", "test_accuracy_mean", "test_accuracy_std", "seconds",
                    "labels", "set", "dataset", "images"] {
            #expect(object[key] != nil, "no \(key)")
        }
        #expect(object["labels"] as? String == "hard" && object["images"] as? Int == 10)
        #expect((object["network"] as? [String: Any])?["name"] as? String == "mlp")
        let settings = try #require(object["protocol"] as? [String: Any])
        for key in ["optimizer", "learning_rate", "momentum", "weight_decay", "batch_size", "epochs", "decay_factor_at_half",
                    "soft_label_loss", "pixel_mean", "pixel_std", "metric", "spread"] {
            #expect(settings[key] != nil, "protocol has no \(key)")
        }
        #expect(settings["epochs"] as? Int == 3)
        #expect((object["seeds"] as? [Int]) == [1, 2])
        #expect((object["test_accuracies"] as? [Double])?.count == 2)
        // The subset's own statistics standardise the pixels (near MNIST's 0.1307 / 0.3081).
        let mean = try #require((settings["pixel_mean"] as? [Double])?.first)
        #expect(abs(mean - 0.13) < 0.02)

        let again = try f.evalNetwork(["--network", "mlp", "--epochs", "3", "--seeds", "2"])
        #expect(again.result.testAccuracies == report.result.testAccuracies)
        // The result decodes back from its JSON.
        let decoded = try JSONDecoder().decode(NetworkEvalReport.self, from: Data(try report.json().utf8))
        #expect(decoded.result.testAccuracies == report.result.testAccuracies && decoded.labels == "hard")
        #expect(report.sentences.contains("Test accuracy") && report.sentences.contains("MLP (width 128, 2 hidden layers, standard parameterisation)"))
    }

    /// `--augmentation dc` trains with DC's per-image augmentation for 1000 epochs
    /// (or --epochs) and the JSON's protocol says so with its parameters; `--augment`
    /// alone stays DSA's.
    @Test func augmentationKindIsChosenAndRecorded() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        let options = try DistillCommand.Eval.parse(["--distilled", f.set, "--data", f.data, "--network", "mlp",
                                                     "--augmentation", "dc"])
        #expect(options.networkOptions.common.chosenAugmentation == .dc(DCAugmentation()))
        let dsa = try DistillCommand.Eval.parse(["--distilled", f.set, "--data", f.data, "--network", "mlp", "--augment"])
        #expect(dsa.networkOptions.common.chosenAugmentation == .dsa(Augmentation()))
        let report = try f.evalNetwork(["--network", "mlp", "--augmentation", "dc", "--epochs", "2", "--seeds", "1"])
        let settings = try #require(Self.json(report)["protocol"] as? [String: Any])
        let augmentation = try #require(settings["augmentation"] as? [String: Any])
        #expect(augmentation["kind"] as? String == "dc" && augmentation["crop_pixels"] as? Int == 4)
        #expect(augmentation["scale"] as? Double == 0.2 && augmentation["rotation_degrees"] as? Int == 45)
        #expect(settings["epochs"] as? Int == 2)
        #expect(report.protocolSummary.contains("DC-style crop 4/scale 0.2/rotation 45 degrees (one per image)"))
    }

    /// A seed whose training diverged is named in the text and flagged in the JSON,
    /// and the mean is over the other seeds.
    @Test func divergedSeedsAreReportedNotAveraged() throws {
        let result = NetworkEvaluationResult(network: .mlp(), protocol: TrainingProtocol(), seeds: [1, 2, 3],
                                             testAccuracies: [0.8, .nan, 0.6], seconds: [1, 1, 1],
                                             divergedAtEpoch: [nil, 7, nil])
        let report = NetworkEvalReport(set: "out", baseline: nil, imagesPerClass: nil, baselineSeed: nil, dataset: "data/mnist",
                                       images: 10, classes: 10, labels: "soft", labelsFile: nil, title: "MLP", result: result)
        #expect(abs(report.result.testAccuracyMean - 0.7) < 1e-12 && abs(report.result.testAccuracyStd - 0.1) < 1e-12)
        #expect(report.sentences.contains("seed 2: diverged in epoch 7, not tested"), "\(report.sentences)")
        #expect(report.sentences.contains("Test accuracy 70.00 ± 10.00% (mean ± population std over the 2 seeds that did not diverge)"))
        #expect(report.sentences.contains("Diverged: 1 of 3 networks"))
        let object = try Self.json(report)
        #expect(object["diverged"] as? [Bool] == [false, true, false])
        let epochs = try #require(object["diverged_at_epoch"] as? [Any])
        #expect(epochs.count == 3 && epochs[0] is NSNull && epochs[1] as? Int == 7)

        let allDiverged = NetworkEvaluationResult(network: .mlp(), protocol: TrainingProtocol(), seeds: [1], testAccuracies: [.nan],
                                                  seconds: [1], divergedAtEpoch: [3])
        var none = report
        none.result = allDiverged
        #expect(none.sentences.contains("No test accuracy: every network's training diverged"))
        #expect(!none.sentences.contains("Test accuracy"))
    }

    /// One network: no "each" and no spread (it used to print "300 epochs each ...
    /// then testing each" and "77.37 ± 0.00% (mean ± population std over seeds)"),
    /// and "1 epoch" in the protocol (it said "1 epochs").
    @Test func oneNetworkIsWordedAsOne() throws {
        var settings = TrainingProtocol()
        settings.epochs = 1
        let plan = NetworkEvalEstimate.plan(title: "MLP", on: "the 10 images of out", seeds: [1], settings: settings, testImages: 200, estimate: nil)
        #expect(plan == "Training 1 MLP network (seed 1) on the 10 images of out, 1 epoch (batches of \(settings.batchSize), no augmentation), then testing it on the 200 test images.", "\(plan)")
        let two = NetworkEvalEstimate.plan(title: "MLP", on: "x", seeds: [1, 2], settings: settings, testImages: 200, estimate: nil)
        #expect(two.contains(", 1 epoch each (") && two.contains("then testing each on"), "\(two)")
        let result = NetworkEvaluationResult(network: .mlp(), protocol: settings, seeds: [1], testAccuracies: [0.7737], seconds: [1],
                                             divergedAtEpoch: [nil])
        let report = NetworkEvalReport(set: "out", baseline: nil, imagesPerClass: nil, baselineSeed: nil, dataset: "data/mnist",
                                       images: 10, classes: 10, labels: "soft", labelsFile: nil, title: "MLP", result: result)
        #expect(report.sentences.contains("Test accuracy 77.37% (one seed: no spread); seed 1: 77.37%."), "\(report.sentences)")
        #expect(!report.sentences.contains("±") && !report.sentences.contains("1 epochs"))
        #expect(report.protocolSummary.contains(", 1 epoch, lr x "), "\(report.protocolSummary)")
        // Two seeds, one diverged: the one tested, no spread either.
        let oneLeft = NetworkEvaluationResult(network: .mlp(), protocol: settings, seeds: [1, 2], testAccuracies: [0.5, .nan],
                                              seconds: [1, 1], divergedAtEpoch: [nil, 1])
        var left = report
        left.result = oneLeft
        #expect(left.sentences.contains("Test accuracy 50.00% (the one seed that did not diverge: no spread)"), "\(left.sentences)")
        #expect(left.sentences.contains("Diverged: 1 of 2 networks") && !left.sentences.contains("±"))
        // A baseline names its seed, except the class means, which draw nothing ("(seed 0)" was said of them).
        var means = report
        means.baseline = "class_means"; means.set = "class-means"; means.imagesPerClass = 1; means.baselineSeed = 0
        #expect(means.sentences.contains("trained from scratch on 1 class-means image per class, tested"), "\(means.sentences)")
        var kmeans = means
        kmeans.baseline = "kmeans"; kmeans.set = "kmeans"; kmeans.baselineSeed = 3
        #expect(kmeans.sentences.contains("on 1 kmeans image per class (seed 3), tested"), "\(kmeans.sentences)")
    }

    /// On a `distill run` folder: its learned labels by default (soft
    /// cross-entropy), class ids with --labels hard, mse recorded in the protocol.
    @Test func aRunsFolderUsesItsLearnedLabelsByDefault() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        let out = f.scratch.path + "/run"
        try DistillCommand.Run.parse(["--data", f.data, "--out", out, "--steps", "3", "--images-per-class", "2", "--quiet"]).run()
        func eval(_ extra: [String]) throws -> NetworkEvalReport {
            try DistillCommand.Eval.parse(["--distilled", out, "--data", f.data, "--network", "mlp", "--epochs", "2",
                                           "--seeds", "1"] + extra).evaluateNetworks()
        }
        let soft = try eval([])
        #expect(soft.labels == "soft" && soft.labelsFile == RunFiles.softLabels && soft.images == 20)
        // Soft cross-entropy unless a learned label is negative (unbounded below):
        // then mean squared error, and the report says why.
        let labels = try IDX.read(contentsOf: out + "/" + RunFiles.softLabels).doubles()
        let negative = (labels.min() ?? 0) < 0
        #expect(soft.result.protocol.softLabelLoss == (negative ? .meanSquaredError : .crossEntropy))
        #expect(negative ? soft.notes.first?.contains("so the loss is mean squared error") == true : soft.notes.isEmpty)
        let forced = try eval(["--soft-label-loss", "cross-entropy"])
        #expect(forced.result.protocol.softLabelLoss == .crossEntropy)
        #expect(negative ? forced.notes.first?.contains("unbounded below; --soft-label-loss mse") == true : forced.notes.isEmpty)
        let hard = try eval(["--labels", "hard"])
        #expect(hard.labels == "hard" && hard.labelsFile == RunFiles.classLabels)
        let mse = try eval(["--soft-label-loss", "mse", "--width", "32", "--depth", "2"])
        #expect(mse.notes.isEmpty && hard.notes.isEmpty)
        #expect(mse.result.protocol.softLabelLoss == .meanSquaredError)
        #expect(mse.result.network.width == 32 && mse.result.network.depth == 2)
        #expect(try Self.json(mse).description.contains("mean-squared-error"))
    }

    /// `--depth` counts an MLP's hidden layers, as `run --model ntk --depth`
    /// counts the NTK network's (it used to count dense layers, the classifier
    /// included). The default MLP is still DC's, 784-128-128-10 on MNIST, and
    /// `--depth 2` is that same network (the same accuracies); the JSON records 2.
    @Test func depthCountsAnMLPsHiddenLayersAsRunsDepthDoes() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        let options = ["--network", "mlp", "--epochs", "2", "--seeds", "2"]
        let standard = try f.evalNetwork(options), two = try f.evalNetwork(options + ["--depth", "2"])
        #expect(standard.result.network.depth == 2 && two.result.network == standard.result.network)
        #expect(two.result.testAccuracies == standard.result.testAccuracies)
        #expect((try Self.json(standard)["network"] as? [String: Any])?["depth"] as? Int == 2)
        let dc = NetworkEvaluation.mlp(standard.result.network, inputFeatures: 784, classes: 10)
        #expect(dc.parameterCount == (784 * 128 + 128) + (128 * 128 + 128) + (128 * 10 + 10))
        let ntk = NetworkEvaluation.mlp(NetworkChoice.ntkMLP.spec(width: nil, depth: nil), inputFeatures: 784, classes: 10)
        #expect(ntk.parameterCount == (784 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 10 + 10))
        // No hidden layer: the classifier alone.
        let linear = NetworkEvaluation.mlp(NetworkChoice.mlp.spec(width: nil, depth: 0), inputFeatures: 784, classes: 10)
        #expect(linear.parameterCount == 784 * 10 + 10)
        let one = try f.evalNetwork(options + ["--depth", "1"])
        #expect(one.result.network.depth == 1 && one.sentences.contains("MLP (width 128, 1 hidden layer, standard parameterisation)"))
    }

    /// --labels soft on a folder without learned labels is one line naming the folder.
    @Test func softLabelsThatAreMissingAreAnError() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        #expect { try f.evalNetwork(["--network", "mlp", "--epochs", "1", "--seeds", "1", "--labels", "soft"]) } throws: { error in
            let text = String(describing: error)
            return text.contains(f.set + ": --labels soft expected learned labels in distilled-labels-idx2-float") && !text.contains("\n")
        }
    }

    /// Random real images, drawn anew per network seed (draw d as in
    /// `Baselines.randomReal`): beats chance widely; seed 1 of two is seed 1 of one;
    /// and it is the library's evaluation of exactly those images.
    @Test func randomRealBaselineIsDrawnPerSeed() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        func baseline(_ seeds: Int) throws -> NetworkEvalReport {
            try DistillCommand.Eval.parse(["--baseline", "random-real", "--images-per-class", "10", "--seed", "7", "--data", f.data,
                                           "--network", "mlp", "--epochs", "30", "--seeds", "\(seeds)"]).evaluateNetworks()
        }
        let two = try baseline(2), one = try baseline(1)
        #expect(two.baseline == "random_real" && two.images == 100 && two.labels == "hard" && two.baselineSeed == 7)
        #expect(one.result.testAccuracies[0] == two.result.testAccuracies[0])
        #expect(two.result.testAccuracyMean > 0.4, "random real 10/class: \(two.result.testAccuracies)")

        // By hand: the second draw of SplitMix64(seed: 7)'s stream, network seed 2.
        let dataset = try DatasetFolder.load(f.data)
        let train = LabeledImages(dataset.train, classes: 10), test = LabeledImages(dataset.test, classes: 10)
        var master = SplitMix64(seed: 7)
        _ = master.next()
        var random = SplitMix64(seed: master.next())
        let images = try Initialisation.real.images(from: train, imagesPerClass: 10, random: &random)
        var settings = TrainingProtocol.dc()
        settings.epochs = 30
        let stats = PixelStatistics.perChannel(train)
        settings.pixelMean = stats.mean
        settings.pixelStd = stats.std
        let direct = try NetworkEvaluation.evaluate(
            train: NetworkImages(pixels: images.values.map { Float($0) }, count: 100, height: 28, width: 28, channels: 1),
            labels: .classes((0..<100).map { Int32($0 / 10) }),
            test: NetworkImages(test, height: 28, width: 28, channels: 1), testLabels: test.labels, classes: 10,
            network: .mlp(), protocol: settings, seeds: [2])
        #expect(direct.testAccuracies[0] == two.result.testAccuracies[1])
    }

    @Test func classMeansAndKMeansBaselines() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        let means = try DistillCommand.Eval.parse(["--baseline", "class-means", "--data", f.data, "--network", "mlp",
                                                   "--epochs", "2", "--seeds", "1", "--json"]).evaluateNetworks()
        #expect(means.baseline == "class_means" && means.images == 10 && means.imagesPerClass == 1)
        let kmeans = try DistillCommand.Eval.parse(["--baseline", "kmeans", "--images-per-class", "2", "--data", f.data,
                                                    "--network", "mlp", "--epochs", "2", "--seeds", "1"]).evaluateNetworks()
        #expect(kmeans.baseline == "kmeans" && kmeans.images == 20)
    }

    /// Each bad combination is rejected before any work, in one sentence.
    @Test(arguments: [
        (["--baseline", "random-real"], "needs --network"),
        (["--network", "mlp"], "give the set to evaluate"),
        (["--distilled", "x", "--baseline", "kmeans", "--network", "mlp"], "not both"),
        (["--distilled", "x", "--augment"], "--augment sets how networks are trained"),
        (["--distilled", "x", "--augmentation", "dc"], "--augmentation sets how networks are trained"),
        (["--distilled", "x", "--network", "mlp", "--augmentation", "flip"], "flip"),
        (["--distilled", "x", "--seeds", "3"], "--seeds sets how networks are trained"),
        (["--distilled", "x", "--width", "64"], "--network, which is missing"),
        (["--distilled", "x", "--network", "mlp", "--seeds", "0"], "--seeds: expected a value between 1 and 100"),
        (["--distilled", "x", "--network", "mlp", "--epochs", "0"], "--epochs: expected at least 1"),
        (["--distilled", "x", "--network", "mlp", "--depth=-1"], "--depth: expected at least 0 (hidden layers), found '-1'"),
        (["--distilled", "x", "--network", "convnet", "--depth", "0"], "--depth: expected at least 1 (convolution blocks), found '0'"),
        (["--distilled", "x", "--network", "mlp", "--l2", "0.1"], "--model and --l2 choose the inner model"),
        (["--distilled", "x", "--network", "mlp", "--images-per-class", "3"], "need --baseline"),
        (["--baseline", "class-means", "--images-per-class", "3", "--network", "mlp"], "has 1 image per class"),
        (["--baseline", "random-real", "--network", "mlp", "--labels", "soft"], "baselines do not have"),
        (["--distilled", "x", "--network", "resnet"], "resnet"),
        (["--distilled", "x", "--network", "mlp", "--soft-label-loss", "l1"], "l1"),
    ])
    func badOptionsAreRejectedInOneSentence(arguments: [String], expected: String) {
        do {
            _ = try DistillCommand.parseAsRoot(["eval"] + arguments)
            Issue.record("accepted: \(arguments)")
        } catch {
            let message = DistillCommand.message(for: error)
            #expect(message.contains(expected), "\(arguments): \(message)")
            #expect(!message.trimmingCharacters(in: .whitespacesAndNewlines).contains("\n"), "\(arguments): \(message)")
            #expect(DistillCommand.exitCode(for: error) != .success)
        }
    }

    /// `sweep --network mlp`: a network column for the distilled set and each
    /// baseline in sweep.csv, sweep.md and sweep.svg, and each size's JSON.
    @Test func sweepAddsTheNetworkColumn() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = scratch.path + "/data", out = scratch.path + "/sweep"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try RunEndToEndTests.writeSubset(to: data, train: 500, test: 200)
        try DistillCommand.Sweep.parse(["--data", data, "--out", out, "--images-per-class", "1,2", "--steps", "3",
                                        "--network", "mlp", "--epochs", "2", "--seeds", "2", "--quiet"]).run()
        let csv = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3)
        let header = csv[0].split(separator: ",").map(String.init)
        for column in ["distilled_mlp_test_accuracy", "distilled_mlp_test_accuracy_std", "random_real_mlp_test_accuracy",
                       "class_means_mlp_test_accuracy", "kmeans_mlp_test_accuracy"] {
            #expect(header.contains(column), "sweep.csv lacks \(column)")
        }
        for line in csv.dropFirst() { #expect(line.split(separator: ",", omittingEmptySubsequences: false).count == header.count) }
        let markdown = try String(contentsOfFile: out + "/sweep.md", encoding: .utf8)
        #expect(markdown.contains("MLP: distilled") && markdown.contains("MLP: random real") && markdown.contains("MLP columns: 2 networks"))
        let chart = try String(contentsOfFile: out + "/sweep.svg", encoding: .utf8)
        #expect(chart.contains(">distilled, MLP<"))
        let perSize = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/ipc-2/network-eval.json"))) as? [String: Any])
        #expect(Set(perSize.keys) == ["distilled", "random_real", "kmeans"])
        #expect(((perSize["distilled"] as? [String: Any])?["test_accuracies"] as? [Double])?.count == 2)
    }

    /// `eval --network` says on standard error, before the first network
    /// trains, what it will train and how long that will take, then one line per
    /// network as it finishes: for a distilled set and for every baseline.
    /// `--quiet` silences both; standard output holds the JSON alone either way.
    /// The announcement counts epochs in words: "1 epoch", "2 epochs", never "epoch(s)".
    @Test func theAnnouncementSaysEpochAndEpochs() {
        for (epochs, words) in [(1, "1 epoch each"), (2, "2 epochs each"), (1000, "1000 epochs each")] {
            var settings = TrainingProtocol.dc()
            settings.epochs = epochs
            // Two networks ("each"; one is worded in `oneNetworkIsWordedAsOne`).
            let line = NetworkEvalEstimate.plan(title: "MLP", on: "the 10 images of x", seeds: [1, 2], settings: settings,
                                                testImages: 200, estimate: nil)
            #expect(line.contains(", \(words) (batches of") && !line.contains("(s)"), "\(line)")
        }
    }

    @Test func announcesTheEvaluationAndEachNetworkOnStandardError() throws {
        let f = try Fixture()
        defer { f.scratch.cleanUp() }
        let sets: [(arguments: [String], what: String)] = [
            (["--distilled", f.set], "the 10 images of \(f.set) (hard labels)"),
            (["--baseline", "class-means"], "1 class-means image per class (10 images)"),
            (["--baseline", "kmeans", "--images-per-class", "2"], "2 kmeans images per class (20 images)"),
            (["--baseline", "random-real"], "1 random-real image per class (10 images, drawn anew for each network)"),
        ]
        for (arguments, what) in sets {
            let command = ["eval", "--data", f.data] + arguments + ["--network", "mlp", "--epochs", "2", "--seeds", "2", "--json"]
            let loud = try distillCommand(command), quiet = try distillCommand(command + ["--quiet"])
            #expect(loud.status == 0 && quiet.status == 0, "\(loud.stderr)\(quiet.stderr)")
            let lines = loud.stderr.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(lines)")
            #expect(lines.first?.hasPrefix("Training 2 MLP networks (seeds 1 to 2) on \(what), 2 epochs each (batches of 256, no augmentation), then testing each on the 200 test images: about ") == true, "\(lines)")
            #expect(lines.first?.contains("timed on copies of seed 1's network before training") == true)
            #expect(lines.count == 3 && lines[1].hasPrefix("MLP seed 1 (1 of 2): ") && lines[2].hasPrefix("MLP seed 2 (2 of 2): "))
            #expect(quiet.stderr == "")
            // Standard output: the one JSON line, with the same results either way.
            for result in [loud, quiet] {
                #expect(result.stdout.hasSuffix("}\n") && result.stdout.filter { $0 == "\n" }.count == 1)
            }
            let accuracies = try [loud, quiet].map { result in
                let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
                return try #require(object["test_accuracies"] as? [Double])
            }
            #expect(accuracies[0].count == 2 && accuracies[0] == accuracies[1])
            // Each network's line gives its accuracy as the JSON does.
            for (line, accuracy) in zip(lines.dropFirst(), accuracies[0]) {
                #expect(line.contains(": \(format(100 * accuracy, 2))% in "), "\(line)")
            }
        }
    }

    /// A workload whose timings come from a model, `overhead + perUnit * k`, plus
    /// a noise that alternates between `+noise` and `-noise` from one timing to
    /// the next, through `measure`'s `time` (no clock: the test is exact).
    final class ModelledWorkload: @unchecked Sendable {
        var train: [Int] = [], test: [Int] = []
        var last = 0.0, sign = 1.0
        let trainingOverhead: Double, epoch: Double, testOverhead: Double, testImage: Double, noise: Double

        init(trainingOverhead: Double, epoch: Double, testOverhead: Double, testImage: Double, noise: Double) {
            (self.trainingOverhead, self.epoch, self.testOverhead, self.testImage, self.noise) = (trainingOverhead, epoch, testOverhead, testImage, noise)
        }

        func workload(testImages: Int, epochs: Int) -> NetworkWorkload {
            NetworkWorkload(trainAndTest: { _ in (0, 0, nil) },
                            train: { self.train.append($0); self.last = self.trainingOverhead + self.epoch * Double($0) },
                            test: { self.test.append($0); self.last = self.testOverhead + self.testImage * Double($0) },
                            testImages: testImages, epochs: epochs)
        }

        func time(_ work: () -> Void) -> Double {
            work()
            sign = -sign
            return max(0, last + sign * noise)
        }
    }

    /// An MLP on a few images: epochs of 4 ms after 10 ms of set-up, timed with
    /// 3 ms of noise. A line through 1 and 2 epochs (the earlier estimate) is
    /// noise; the training is timed at sizes long enough to measure, so the
    /// estimate is within a few percent of the 1.21 s the model gives.
    @Test func theEstimateTimesTrainingLongEnoughToMeasureAnEpoch() {
        let model = ModelledWorkload(trainingOverhead: 0.01, epoch: 0.004, testOverhead: 0.002, testImage: 0.000_02, noise: 0.003)
        let estimate = NetworkEvalEstimate.measure(model.workload(testImages: 10_000, epochs: 300), networks: 2,
                                                   preparationSeconds: 0.05, time: model.time)
        let training = 0.01 + 0.004 * 300, test = 0.002 + 0.000_02 * 10_000
        #expect(abs(estimate.trainingSeconds - training) < 0.05 * training, "\(estimate.trainingSeconds) against \(training)")
        #expect(abs(estimate.epochSeconds - 0.004) < 0.05 * 0.004, "\(estimate.epochSeconds)")
        #expect(abs(estimate.testSeconds - test) < 0.05 * test, "\(estimate.testSeconds) against \(test)")
        // The preparation each network repeats counts too.
        #expect(abs(estimate.seconds - 2 * (0.05 + training + test)) < 0.05 * 2 * (0.05 + training + test))
        // A warm-up epoch, then doubled sizes until one takes 0.1 s (32 epochs), and twice that.
        #expect(model.train == [1, 1, 2, 4, 8, 16, 32, 64], "\(model.train)")
    }

    /// Work that never takes `minimumSeconds` is timed whole: the protocol's
    /// epochs and the whole test split, with no line; work that does from the
    /// first size is timed at 1 and 2 epochs (a ConvNet's) and at
    /// `timedTestImages` and twice as many test images, and the lines taken to
    /// the real sizes. The line through two timings is clamped against noise.
    @Test func theEstimateTimesShortWorkWholeAndLongWorkAtTwoSizes() {
        let short = ModelledWorkload(trainingOverhead: 0, epoch: 0.000_1, testOverhead: 0, testImage: 0.000_001, noise: 0)
        let quick = NetworkEvalEstimate.measure(short.workload(testImages: 200, epochs: 300), networks: 3, time: short.time)
        #expect(short.train.last == 300 && short.test == [200], "\(short.train) \(short.test)")
        #expect(abs(quick.trainingSeconds - 0.03) < 1e-12 && abs(quick.testSeconds - 0.000_2) < 1e-12)
        #expect(quick.networks == 3 && abs(quick.seconds - 3 * 0.030_2) < 1e-12)

        let long = ModelledWorkload(trainingOverhead: 1, epoch: 5, testOverhead: 0.5, testImage: 0.001, noise: 0)
        let slow = NetworkEvalEstimate.measure(long.workload(testImages: 10_000, epochs: 300), networks: 1, time: long.time)
        #expect(long.train == [1, 1, 2] && long.test == [256, 512], "\(long.train) \(long.test)")
        #expect(abs(slow.trainingSeconds - 1501) < 1e-9 && abs(slow.epochSeconds - 5) < 1e-12 && abs(slow.testSeconds - 10.5) < 1e-9)

        #expect(DurationEstimate.line(3, at: 1, 5, at: 2, to: 10) == 21)
        #expect(DurationEstimate.line(3, at: 1, 1, at: 2, to: 10) == 3)  // a negative slope counts as 0
        #expect(abs(DurationEstimate.line(1, at: 100, 5, at: 200, to: 300) - 12) < 1e-12)  // a negative intercept counts as 0
    }

    /// Durations are never printed as "0.00 s": under 10 ms in milliseconds,
    /// under 0.1 ms as such (an MLP's epoch on a few images used to read "an epoch 0.00 s").
    @Test func aShortDurationIsPrintedInMilliseconds() {
        #expect(DurationEstimate.durationText(0) == "under 0.1 ms")
        #expect(DurationEstimate.durationText(0.000_04) == "under 0.1 ms")
        #expect(DurationEstimate.durationText(0.000_1) == "0.1 ms")
        #expect(DurationEstimate.durationText(0.004_2) == "4.2 ms")
        #expect(DurationEstimate.durationText(0.009_9) == "9.9 ms")
        #expect(DurationEstimate.durationText(0.009_97) == "0.01 s")
        #expect(DurationEstimate.durationText(2.5) == "2.50 s")
        #expect(DurationEstimate.durationText(.nan) == "an unknown time")
        var seconds = 1e-9
        while seconds < 20 {
            let text = DurationEstimate.durationText(seconds)
            #expect(!text.hasPrefix("0.0 ") && !text.hasPrefix("0.00 "), "\(seconds): \(text)")
            seconds *= 1.07
        }
    }

    @Test func sweepRejectsNetworkOptionsWithoutANetwork() {
        #expect(throws: (any Error).self) { try DistillCommand.Sweep.parse(["--epochs", "3"]) }
        #expect(throws: (any Error).self) { try DistillCommand.Sweep.parse(["--network", "mlp", "--seeds", "0"]) }
    }
}

extension EvalCommandTests.Fixture {
    func evalNetwork(_ extra: [String]) throws -> NetworkEvalReport {
        try DistillCommand.Eval.parse(["--distilled", set, "--data", data] + extra).evaluateNetworks()
    }
}
