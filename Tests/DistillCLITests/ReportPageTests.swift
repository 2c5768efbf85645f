import DistillRun
import Foundation
import Testing
@testable import Distill
import DistillIO
@testable import DistillCLI

/// The `src`/`href` values of `html`.
private func links(_ html: String) -> [String] {
    var values: [String] = []
    for attribute in ["src=\"", "href=\""] {
        var rest = html[...]
        while let start = rest.range(of: attribute) {
            rest = rest[start.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            values.append(String(rest[..<end]))
            rest = rest[end...]
        }
    }
    return values
}

private func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// Checks what every report must be: self-contained (no network address in
/// any src or href, no script), every data URI a PNG, and the charts drawn.
func expectSelfContained(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(html.hasPrefix("<!DOCTYPE html>"), sourceLocation: sourceLocation)
    #expect(!html.lowercased().contains("<script"), sourceLocation: sourceLocation)
    #expect(!html.contains("http://") && !html.contains("https://"), sourceLocation: sourceLocation)
    let all = links(html)
    #expect(!all.isEmpty, sourceLocation: sourceLocation)
    // (A data URI's base64 may hold "//"; each is checked to be a PNG below.)
    for link in all where !link.hasPrefix("data:") {
        #expect(!link.contains("//"), "\(link.prefix(60)) is not self-contained", sourceLocation: sourceLocation)
    }
    let images = all.filter { $0.hasPrefix("data:") }
    #expect(!images.isEmpty, sourceLocation: sourceLocation)
    for uri in images {
        #expect(uri.hasPrefix("data:image/png;base64,"), sourceLocation: sourceLocation)
        let bytes = try #require(Data(base64Encoded: String(uri.dropFirst("data:image/png;base64,".count))),
                                 "a data URI is not base64", sourceLocation: sourceLocation)
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], sourceLocation: sourceLocation)
    }
    #expect(occurrences(of: "<svg", in: html) == 2, sourceLocation: sourceLocation)
    #expect(occurrences(of: "<path class=\"series\"", in: html) + occurrences(of: "<circle class=\"marker\"", in: html) >= 1,
            sourceLocation: sourceLocation)
    // Every chart is well-formed XML.
    for svg in html.components(separatedBy: "<svg ").dropFirst() {
        let text = "<svg " + (svg.components(separatedBy: "</svg>").first ?? "") + "</svg>"
        _ = try SVGElements(text.replacingOccurrences(of: "&#39;", with: "'"))
    }
}

@Suite struct ReportPageTests {
    @Test func aRealRunWritesASelfContainedReport() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let names = scratch.path + "/names with space.txt", out = scratch.path + "/out"
        try "cat\ndog & co\n<bird>\n".write(toFile: names, atomically: true, encoding: .utf8)
        let result = try runDistill(["--data", data.path, "--out", out, "--steps", "8", "--quiet",
                                     "--eval-every", "2", "--snapshot-every", "4", "--class-names", names])
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        try expectSelfContained(html)
        // Both curves are lines: the loss over 8 steps (no markers beyond 40 points only), the accuracy at 0, 2, 4, 6, 8.
        #expect(occurrences(of: "<path class=\"series\"", in: html) == 2)
        #expect(occurrences(of: "<circle class=\"marker\"", in: html) == 8 + 5)
        // The grid's classes with their (escaped) names, and the snapshots at steps 0, 4 and 8 with their captions.
        #expect(html.contains("<figcaption>cat</figcaption>") && html.contains("<figcaption>dog &amp; co</figcaption>")
                && html.contains("<figcaption>&lt;bird&gt;</figcaption>"))
        #expect(html.contains("<figcaption>step 0</figcaption>") && html.contains("<figcaption>step 8</figcaption>"))
        // progress.png has no labels: the page says which steps it shows, in its order.
        #expect(html.contains("progress.png holds these side by side, left to right: step 0, step 4, step 8 (it has no labels of its own)"))
        #expect(occurrences(of: "data:image/png;base64,", in: html) == 3 + 3)
        // The command that reproduces the run from anywhere: absolute paths, the file name quoted.
        let command = try #require(html.components(separatedBy: "<pre><code>").last?.components(separatedBy: "</code>").first)
        #expect(command.contains(" run --images-per-class 1 --steps 8 --seed 0 "))
        #expect(command.contains("--data \(data.path) --out \(out)-again "))
        #expect(command.hasSuffix("--quiet --eval-every 2 --snapshot-every 4 --class-names &#39;\(names)&#39;"))
        #expect(command.hasPrefix("/"))
        #expect(result.stdout.contains("progress.png") && result.stdout.contains("report.html"))
    }

    @Test func aResumedRunIsReproducedWithoutResume() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let out = scratch.path + "/out"
        let first = try runDistill(["--data", data.path, "--out", out, "--steps", "6", "--stop-after-step", "3", "--quiet",
                                    "--l2", "0.05", "--learn-labels", "off"])
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try runDistill(["--resume", out, "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        let command = try #require(html.components(separatedBy: "<pre><code>").last?.components(separatedBy: "</code>").first)
        #expect(!command.contains("--resume"))
        #expect(command.contains("--steps 6 ") && command.contains("--l2 0.05") && command.contains("--learn-labels off"))
        // Into a new folder beside the run (no --replace), and always with the thread count.
        #expect(command.contains("--out \(out)-again") && !command.contains("--replace"))
        #expect(command.contains("--threads \(DistillerConfiguration().threads) "))

        // Pasted into a shell, it leaves the run as it was and repeats it bit for bit.
        let images = try Data(contentsOf: URL(fileURLWithPath: out + "/distilled-images-idx3-float"))
        let report = try Data(contentsOf: URL(fileURLWithPath: out + "/report.html"))
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", command.replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")]
        shell.standardOutput = FileHandle.nullDevice
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/report.html")) == report)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/distilled-images-idx3-float")) == images)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "-again/distilled-images-idx3-float")) == images)
    }

    @Test func theRerunCommandGivesTheSameSettings() throws {
        var c = DistillerConfiguration()
        c.imagesPerClass = 3; c.steps = 17; c.learningRate = 0.0123; c.l2 = 1e-5; c.seed = 99; c.initialisation = .real
        c.threads = 1; c.innerTolerance = 1e-7; c.linearSolveTolerance = 1e-9; c.learnLabels = false; c.labelLearningRate = 0.5
        c.learnL2 = false; c.l2LearningRate = 0.25; c.pixelRange = .unbounded; c.pull = 0; c.schedule = .constant
        c.model = "ridge"; c.hypergradient = .implicit; c.unrollSteps = 7
        let arguments = RerunCommand.arguments(configuration: c, data: "data/x", out: "o", original: [".build/release/distill", "--zoom", "3", "--resume", "o", "--baselines"],
                                               workingDirectory: "/home/me")
        #expect(arguments.first == "/home/me/.build/release/distill" && arguments[1] == "run")
        #expect(!arguments.contains("--resume"))
        #expect(arguments.suffix(7) == ["--data", "/home/me/data/x", "--out", "/home/me/o-again", "--zoom", "3", "--baselines"])
        #expect(RerunCommand.againFolder("/runs/out/") == "/runs/out-again")
        let parsed = try DistillCommand.Run.parse(Array(arguments.dropFirst(2)))
        // Settings the model does not read are left out (run refuses them): the unrolled
        // steps of a ridge run, the learning rates of labels and an L2 not learned.
        #expect(!arguments.contains("--unroll-steps") && !arguments.contains("--label-learning-rate") && !arguments.contains("--l2-learning-rate"))
        var read = c
        read.unrollSteps = DistillerConfiguration().unrollSteps
        read.labelLearningRate = DistillerConfiguration().labelLearningRate
        read.l2LearningRate = DistillerConfiguration().l2LearningRate
        #expect(parsed.distillerConfiguration == read)
        // Defaults are left out; a name found on the PATH stays a name.
        let plain = RerunCommand.arguments(configuration: DistillerConfiguration(), data: "/d", out: "/o", original: ["distill"])
        #expect(plain == ["distill", "run", "--images-per-class", "1", "--steps", "300", "--seed", "0",
                          "--threads", "\(DistillerConfiguration().threads)", "--data", "/d", "--out", "/o-again"])
    }

    @Test func theRerunCommandOfAKernelRunGivesTheSameSettings() throws {
        // Settings equal to the shared defaults but not to the model's, and the kernel's own options.
        var c = try InnerModels.defaultConfiguration(model: "ntk")
        c.pull = DistillerConfiguration().pull; c.initialisation = DistillerConfiguration().initialisation
        c.learningRate = DistillerConfiguration().learningRate; c.steps = DistillerConfiguration().steps
        c.kernelDepth = 2; c.weightVariance = 1.5; c.biasVariance = 0.2; c.outerLoss = .crossEntropy
        let arguments = RerunCommand.arguments(configuration: c, data: "/d", out: "/o", original: ["distill"])
        #expect(try DistillCommand.Run.parse(Array(arguments.dropFirst(2))).distillerConfiguration == c)
        // The model's own defaults are left out.
        let plain = RerunCommand.arguments(configuration: try InnerModels.defaultConfiguration(model: "ntk"), data: "/d", out: "/o", original: ["distill"])
        #expect(plain.count == 2 + 6 + 2 + 2 + 4)   // run, size/steps/seed, --threads, --model ntk, --data/--out
    }

    /// The options table names the settings of the run's own model: a kernel
    /// run's depth, variances and outer loss (the page did not say them), and a
    /// logistic run's page has none of those rows.
    @Test func theOptionsNameTheModelsOwnSettings() throws {
        var m = Self.metrics
        #expect(ReportPage(metrics: m, history: Self.history, testAccuracy: [], classes: [Self.picture], snapshots: [],
                           baselines: nil, rerun: ["distill"], files: [], evaluationSeconds: nil).modelSettings.isEmpty)
        m.model = "ntk"
        m.configuration = try JSONDecoder().decode(RecordedConfiguration.self, from: Data(#"""
            {"model": "ntk", "kernelDepth": 3, "weightVariance": 2.0, "biasVariance": 0.01, "outerLoss": "mse", "batch": 2000}
            """#.utf8))
        let page = ReportPage(metrics: m, history: Self.history, testAccuracy: [], classes: [Self.picture], snapshots: [],
                              baselines: nil, rerun: ["distill"], files: [], evaluationSeconds: nil)
        #expect(page.modelSettings.map { "\($0.0): \($0.1)" } == ["depth: 3 hidden ReLU layers", "weight variance: 2.0",
                                                                 "bias variance: 0.01", "outer loss: mse", "batch: 2000 training images a step"])
        #expect(page.html.contains("<th>depth</th><td>3 hidden ReLU layers</td>"))
        #expect(page.html.contains("<th>outer loss</th><td>mse</td>"))
    }

    @Test func withoutMeasurementsTheAccuracyIsOneLabelledPointAndANote() throws {
        let page = ReportPage(metrics: Self.metrics, history: Self.history, testAccuracy: [], classes: [Self.picture],
                              snapshots: [], baselines: nil, rerun: ["distill", "run"], files: ["distilled.png"],
                              evaluationSeconds: nil)
        let html = page.html
        try expectSelfContained(html)
        #expect(occurrences(of: "<path class=\"series\"", in: html) == 1)
        #expect(html.contains("step 5: 88.09%"))
        #expect(html.contains("--eval-every N"))
        #expect(html.contains("<code>distill run</code>"))
        #expect(html.contains("88.09%") && html.contains("0.6292"))
    }

    @Test func learnedValuesAreMarkedWithTheirFinalValueAndIterationsOnlyWhereTheyMean() throws {
        var m = Self.metrics
        m.learnL2 = true; m.l2 = 0.1; m.learnedL2 = 0.03734; m.innerIterations = 0
        var page = ReportPage(metrics: m, history: Self.history, testAccuracy: [], classes: [Self.picture], snapshots: [],
                              baselines: nil, rerun: ["distill"], files: [], evaluationSeconds: nil)
        #expect(page.html.contains("<th>L2</th><td>0.0373 (learned, from 0.1)</td>"))
        #expect(!page.html.contains("0 iterations") && !page.html.contains("(0 "))
        #expect(page.innerSolve.hasSuffix("within tolerance at its warm start"))
        page.metrics.innerIterations = 4
        #expect(page.innerSolve.hasSuffix(", 4 Newton iterations"))
        page.metrics.model = "kernel-ridge"
        #expect(page.innerSolve == "closed form (kernel-ridge)")
        page.metrics.learnL2 = false
        #expect(page.options.contains { $0.0 == "L2" && $0.1 == "0.1" })
    }

    /// A run resumed with `--steps` (possibly lengthened: its earlier steps followed the
    /// shorter run's schedule) says that the one rerun command runs another run, and how to
    /// repeat it; a run resumed without `--steps`, or never, does not.
    @Test func aRunResumedWithStepsSaysTheRerunCommandIsAnotherRun() throws {
        var m = Self.metrics
        func html() -> String {
            ReportPage(metrics: m, history: Self.history, testAccuracy: [], classes: [Self.picture], snapshots: [],
                       baselines: nil, rerun: ["distill"], files: [], evaluationSeconds: nil).html
        }
        #expect(!html().contains("was resumed with <code>--steps</code>"))
        m.resumedWith = ["distill run --resume out"]
        #expect(!html().contains("was resumed with <code>--steps</code>"))
        for command in ["distill run --resume out --steps 30", "distill run --steps=30 --resume out"] {
            m.resumedWith = ["distill run --resume out", command]
            #expect(html().contains("was resumed with <code>--steps</code>"), "\(command)")
            #expect(html().contains("<code>resumed_with</code>"))
        }
    }

    @Test func baselinesAreListedBesideTheRun() throws {
        let page = ReportPage(metrics: Self.metrics, history: Self.history, testAccuracy: [], classes: [Self.picture],
                              snapshots: [],
                              baselines: [.init(name: "random real images", testAccuracy: 0.5, trainLoss: 1.25),
                                          .init(name: "class means", testAccuracy: 0.8, trainLoss: nil)],
                              rerun: ["distill"], files: [], evaluationSeconds: nil)
        let html = page.html
        #expect(html.contains("<td>random real images</td><td>50.00%</td><td>1.2500</td>"))
        #expect(html.contains("<td>class means</td><td>80.00%</td><td>–</td>"))
        #expect(html.contains("<td>distilled (this run)</td><td>88.09%</td>"))
    }

    /// The caption under the images says how they read: grey, or colour channel by channel.
    @Test func thePixelCaptionFitsGreyAndColourImages() {
        var m = Self.metrics
        func note(_ m: RunMetrics) -> String {
            let html = ReportPage(metrics: m, history: Self.history, testAccuracy: [], classes: [Self.picture], snapshots: [],
                                  baselines: nil, rerun: ["distill"], files: [], evaluationSeconds: nil).html
            return html.components(separatedBy: "</div>\n<p class=\"note\">").dropFirst().first?.components(separatedBy: "</p>").first ?? ""
        }
        m.imageChannels = 1; m.pixelRange = "unit"
        #expect(note(m) == "Pixels in [0, 1]: 0 is black, 1 is white.")
        m.imageChannels = 3
        #expect(note(m) == "Pixels in [0, 1] in each channel (red, green, blue), shown as they are: 0 is none of that colour, 1 all of it; (0, 0, 0) is black, (1, 1, 1) white.")
        m.pixelRange = "none"
        #expect(note(m).hasPrefix("Each image is scaled by its own largest magnitude over its three channels"))
        m.imageChannels = 1
        #expect(note(m) == "Each image is scaled by its own largest magnitude: mid-grey is 0, white is positive, black negative.")
    }

    /// Random real images drawn 5 times: the page gives the accuracy's spread, as the console's table does.
    @Test func aBaselineDrawnSeveralTimesShowsItsSpreadAsTheConsoleDoes() throws {
        let random = BaselineResult(name: "random_real", model: "logistic", imagesPerClass: 1, l2: 0.01, testAccuracy: 0.4684,
                                    testAccuracyStd: 0.0388, trainLoss: 0.5, trainLossStd: 0.01, draws: 5, seconds: 1)
        let means = BaselineResult(name: "class_means", model: "logistic", imagesPerClass: 1, l2: 0.01, testAccuracy: 0.8,
                                   testAccuracyStd: nil, trainLoss: 0.7, trainLossStd: nil, draws: 1, seconds: 1)
        let page = ReportPage(metrics: Self.metrics, history: Self.history, testAccuracy: [], classes: [Self.picture], snapshots: [],
                              baselines: [random, means].map { ReportPage.Baseline($0) }, rerun: ["distill"], files: [],
                              evaluationSeconds: nil)
        let html = page.html
        #expect(html.contains("<td>random real (1 per class, L2 0.01)</td><td>46.84% ± 3.88</td><td>0.5000</td>"))
        #expect(html.contains("<td>class means (1 per class, L2 0.01)</td><td>80.00%</td>"))
        #expect(html.contains("± : the sample standard deviation of the test accuracy over the 5 draws"))
        let console = RunDisplay.baselineTable(Self.metrics, [random, means]).joined(separator: "\n")
        #expect(console.contains("46.84% ± 3.88") && console.contains("80.00%"))
    }

    @Test func anyNumberGivesAWellFormedPage() throws {
        for x in awkwardDoubles {
            var m = Self.metrics
            m.trainLoss = x; m.testAccuracy = x; m.testLoss = x; m.learnedL2 = x; m.innerGradientNorm = x; m.seconds = x
            m.secondsPerStep = x; m.loadSeconds = x; m.l2 = x; m.learnL2 = true
            let history = Self.history.map { r -> StepRecord in var r = r; r.trainLoss = x; return r }
            let page = ReportPage(metrics: m, history: history, testAccuracy: [.init(step: 0, accuracy: x, loss: x), .init(step: 5, accuracy: 0.5, loss: x)],
                                  classes: [Self.picture], snapshots: [], baselines: [.init(name: "b", testAccuracy: x, trainLoss: x)],
                                  rerun: ["distill"], files: [], evaluationSeconds: x)
            try expectSelfContained(page.html)
        }
    }

    @Test func commandsAreQuotedForTheShell() {
        #expect(ReportPage.shellCommand(["distill", "run", "--data", "/a b/c", "--out", "it's", ""])
                == "distill run --data '/a b/c' --out 'it'\\''s' ''")
        #expect(ReportPage.shellCommand([".build/release/distill", "--l2=0.01"]) == ".build/release/distill --l2=0.01")
        // metrics.json's command_line names the program, not the path it was started by.
        #expect(recordedCommandLine(["/work/x/.build/debug/distill", "run", "--out", "a b"]) == "distill run --out 'a b'")
        #expect(recordedCommandLine(["distill"]) == "distill")
    }

    static let picture: ReportPage.ClassPicture = {
        let bytes = (try? PNGImage(width: 2, height: 2, channels: 1, pixels: [0, 255, 255, 0]).encoded(nameForErrors: "test")) ?? []
        return ReportPage.ClassPicture(name: "0", png: bytes, width: 2, height: 2)
    }()

    static let history: [StepRecord] = (1...5).map {
        StepRecord(step: $0, trainLoss: 2.3 / Double($0), objective: 2.3 / Double($0), l2: 0.1, trainAccuracy: 0.1 * Double($0),
                   innerIterations: 3, innerGradientNorm: 1e-8, innerConverged: true, linearSolveIterations: 10, linearSolveResidual: 1e-9,
                   linearSolveConverged: true, seconds: 0.02)
    }

    static let metrics = RunMetrics(
        dataset: "data/mnist", datasetFormat: "IDX folder", model: "logistic", classes: 10,
        classNames: (0..<10).map(String.init), imageHeight: 28, imageWidth: 28, imageChannels: 1, imagesPerClass: 1, steps: 5,
        learningRate: 0.03, l2: 0.1, learnedL2: 0.1, learnLabels: false, learnL2: false, pixelRange: "none", pull: 0,
        seed: 0, initialisation: "noise", threads: 2, trainLoss: 0.6292, trainAccuracy: 0.87, testLoss: 0.6,
        testAccuracy: 0.8809, innerGradientNorm: 1e-8, innerTolerance: 1e-6, innerIterations: 3,
        seconds: 4.5, secondsPerStep: 0.02, loadSeconds: 0.15, commandLine: "distill run", version: "0.1.0",
        datasetSHA256: [:], configuration: RecordedConfiguration(DistillerConfiguration(), model: LogisticModel()))
}
