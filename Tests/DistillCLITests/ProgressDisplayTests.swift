import DistillRun
import Foundation
import Testing
@testable import Distill
import DistillIO
@testable import DistillCLI
@testable import DistillRun
#if canImport(Glibc)
import Glibc
#endif

/// The small dataset of BadInputTests (3 classes of 4x4 images), loaded.
private func smallDataset(in scratch: ScratchFolder) throws -> LoadedDataset {
    let data = DataFolder(scratch: scratch.path)
    try data.writeSmallDataset()
    return try LoadedDataset(path: data.path)
}

private func configuration(steps: Int) -> DistillerConfiguration {
    var c = DistillerConfiguration()
    c.steps = steps
    c.threads = 1
    return c
}

/// Runs the small dataset for `steps` steps with `observers`.
private func distilSmall(_ scratch: ScratchFolder, steps: Int, observers: [any DistillationObserver]) throws -> DistillationOutcome {
    let dataset = try smallDataset(in: scratch)
    let distiller = try makeDistiller(dataset, configuration: configuration(steps: steps))
    return distil(distiller, dataset: dataset, data: dataset.dataset.location, observers: observers)
}

/// True when `text` holds a control character other than a newline.
private func hasControlCharacters(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0 != "\n" && ($0.value < 0x20 || $0.value == 0x7F) }
}

/// What the signal handler's `writeSignalLine` writes, read back from a pipe.
private func signalLineWritten(_ text: String) -> String {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return "(no pipe)" }
    writeSignalLine(signalLineBuffer(text), to: fds[1])
    close(fds[1])
    var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
    while case let n = read(fds[0], &buffer, buffer.count), n > 0 { bytes += buffer[0..<n] }
    close(fds[0])
    return String(decoding: bytes, as: UTF8.self)
}

/// Calls `body` after step `step` (a signal arriving then).
private final class AfterStep: DistillationObserver {
    let step: Int, body: () -> Void
    init(_ step: Int, _ body: @escaping () -> Void) { self.step = step; self.body = body }
    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        if record.step == step { body() }
        return .proceed
    }
}

@Suite struct LiveProgressLineTests {
    /// A signal's line (the stop's acknowledgement, the second signal's line, the
    /// baselines') starts on a line of its own on a terminal: the handler ends the
    /// drawn progress line first, and the line's own end adds no blank line after it.
    @Test func aSignalsLineStartsOnItsOwnLine() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        OpenProgressLine.close()
        #expect(signalLineWritten("stopping\n") == "stopping\n")
        var output = "", acknowledgements: [String] = []
        let line = LiveProgressLine(write: { output += $0 }, now: { 0 }, columns: 80, sharesTerminalWithErrors: true)
        let signal = AfterStep(2) {
            acknowledgements.append(signalLineWritten("stopping after this step\n"))
            acknowledgements.append(signalLineWritten("stopping now\n"))
        }
        _ = try distilSmall(scratch, steps: 4, observers: [line, signal])
        #expect(acknowledgements == ["\nstopping after this step\n", "stopping now\n"])
        // Drawn again after the signal, then ended by `finished`.
        #expect(output.contains("4/4") && output.hasSuffix("\n") && !output.hasSuffix("\n\n"))
        #expect(!OpenProgressLine.close())
        // Without a signal, `finished` ends the line once.
        output = ""
        let other = try ScratchFolder()
        defer { other.cleanUp() }
        _ = try distilSmall(other, steps: 2, observers: [line])
        #expect(output.hasSuffix("\n") && !output.hasSuffix("\n\n"))
        #expect(!OpenProgressLine.close())
    }

    @Test func redrawsInPlaceWithCarriageReturnsAndEndsWithANewline() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        var output = ""
        var t = 0.0
        // The clock moves 0.05 s per reading: about every other step is drawn.
        let line = LiveProgressLine(write: { output += $0 }, now: { t += 0.05; return t }, columns: 200)
        _ = try distilSmall(scratch, steps: 10, observers: [line])
        let redraws = output.components(separatedBy: LiveProgressLine.clearLine).count - 1
        #expect(output.hasPrefix("Distilling 12 training images"))
        #expect(redraws >= 3 && redraws < 10, "\(redraws) redraws for 10 steps at 0.05 s a step")
        #expect(output.contains("10/10"))
        #expect(output.contains("[########################]  10/10"))
        #expect(output.contains("ETA") && output.contains("loss ") && output.contains("inner "))
        #expect(output.hasSuffix("\n"))
        // Only one newline after the header: the line is redrawn, never scrolled.
        #expect(output.filter { $0 == "\n" }.count == 2)
    }

    @Test func drawsAtMostTenTimesASecond() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        var output = ""
        // A clock that never moves: only the first and the last step are drawn.
        let line = LiveProgressLine(write: { output += $0 }, now: { 0 }, columns: 200)
        _ = try distilSmall(scratch, steps: 8, observers: [line])
        #expect(output.components(separatedBy: "\r").count - 1 == 2)
        #expect(output.contains(" 1/8 ") && output.contains(" 8/8 "))
    }

    @Test func theLineFitsTheTerminal() {
        let record = StepRecord(step: 3, trainLoss: 1.5, objective: 1.5, l2: 0.1, trainAccuracy: 0.5, innerIterations: 4,
                                innerGradientNorm: 1e-7, innerConverged: true, linearSolveIterations: 9, linearSolveResidual: 1e-9,
                                linearSolveConverged: true, seconds: 0.02)
        let wide = LiveProgressLine(write: { _ in }, now: { 0 }, columns: 300).line(record, steps: 10, elapsed: 3)
        #expect(wide == "[#######-----------------]  3/10  3.0 s  ETA 7.0 s  loss 1.5000  inner 4 it")
        // The width is asked again at every redraw.
        var columns = 300
        let line = LiveProgressLine(write: { _ in }, now: { 0 }, columns: { columns })
        #expect(line.line(record, steps: 10, elapsed: 3) == wide)
        columns = 40
        #expect(line.line(record, steps: 10, elapsed: 3).count <= 39)
    }

    @Test func narrowTerminalsDropWholeFieldsLeastImportantFirst() {
        let fields = ProgressFields(step: 100, steps: 300, elapsed: 12.5, eta: 25, loss: 0.6292, innerIterations: 4, test: (0.8809, 100))
        let full = fields.line(width: 1000)
        #expect(full == "[########----------------]  100/300  12.5 s  ETA 25.0 s  loss 0.6292  inner 4 it  test 88.09% (step 100)")
        let pieces = ["100/300", "12.5 s", "ETA 25.0 s", "loss 0.6292", "inner 4 it", "test 88.09%", "(step 100)"]
        var previous = full
        for width in stride(from: full.count, through: 1, by: -1) {
            let text = fields.line(width: width)
            #expect(text.count <= max(width, "100/300".count), "width \(width): \(text)")
            // Every piece shown is whole, and the step is always there.
            #expect(text.contains("100/300"))
            for piece in pieces where previous.contains(piece) == false { #expect(!text.contains(piece), "\(piece) came back at \(width)") }
            let bar = text.split(separator: " ").first { $0.hasPrefix("[") }
            if let bar { #expect(bar.hasSuffix("]") && bar.count >= 12) }
            previous = text
        }
        // At 80 columns: the bar shrinks, nothing is cut.
        let eighty = fields.line(width: 79)
        #expect(eighty.contains("test 88.09% (step 100)") && eighty.contains("loss 0.6292") && eighty.count <= 79)
        // At 60: the inner iterations and the accuracy's step go first, the accuracy stays.
        let sixty = fields.line(width: 59)
        #expect(!sixty.contains("inner") && sixty.contains("test 88.09%") && sixty.contains("loss 0.6292"))
        #expect(fields.line(width: 30) == "100/300  loss 0.6292")
        #expect(fields.line(width: 3) == "100/300")
    }

    @Test func durationsReadNaturally() {
        #expect(duration(4.26) == "4.3 s")
        #expect(duration(125) == "2m05s")
        #expect(duration(3725) == "1h02m")
        #expect(duration(.nan) == "?")
    }
}

/// The closing summary's times, on a run whose steps take microseconds (a tiny
/// dataset in a release build: "median step 0.0 ms" was printed).
@Suite struct SummaryTimeTests {
    /// The summary of a 2-step run on the small dataset, with its times set to
    /// `seconds` in all and `secondsPerStep` for the median step.
    static func summary(seconds: Double, secondsPerStep: Double) throws -> (summary: String, report: String) {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let dataset = try smallDataset(in: scratch)
        let distiller = try makeDistiller(dataset, configuration: configuration(steps: 2))
        var outcome = distil(distiller, dataset: dataset, data: dataset.dataset.location, observers: [])
        outcome.metrics.seconds = seconds
        outcome.metrics.secondsPerStep = secondsPerStep
        let display = try RunDisplay(try DisplayOptions.parse([]), quiet: true, dataset: dataset, out: scratch.path, zoom: 4,
                                     classNames: ["a", "b", "c"], terminal: false)
        let page = ReportPage(metrics: outcome.metrics, history: outcome.history, testAccuracy: [], classes: [], snapshots: [],
                              baselines: nil, rerun: [], files: [])
        return (display.summary(outcome, folder: "out", files: []), page.html)
    }

    @Test func aStepOfMicrosecondsIsNotZeroMilliseconds() throws {
        let tiny = try Self.summary(seconds: 24e-6, secondsPerStep: 12e-6)
        let first = String(tiny.summary.prefix { $0 != "\n" })
        #expect(first.hasPrefix("Done: 2 steps in 24 \u{00B5}s of distillation") && first.contains("median step 12 \u{00B5}s"), "\(first)")
        #expect(tiny.report.contains("<th>median step</th><td>12 \u{00B5}s</td>"))
        // From 0.05 ms up, as before: milliseconds with one decimal.
        let usual = try Self.summary(seconds: 2.46, secondsPerStep: 0.0123)
        #expect(usual.summary.contains("median step 12.3 ms") && usual.summary.hasPrefix("Done: 2 steps in 2.5 s of distillation"), "\(usual.summary)")
        #expect(usual.report.contains("<th>median step</th><td>12.3 ms</td>"))
        let slow = try Self.summary(seconds: 2.46, secondsPerStep: 1.2345)
        #expect(slow.summary.contains("median step 1234.5 ms"), "\(slow.summary)")
    }

    /// The live line's elapsed time counts the test-accuracy checks and the
    /// checkpoints; the summary's time, the steps alone, says so, so that the
    /// two numbers a user sees for the run are not left unexplained.
    @Test func theSummarySaysWhatItsTimeCovers() throws {
        let usual = try Self.summary(seconds: 2.46, secondsPerStep: 0.0123)
        let first = String(usual.summary.prefix { $0 != "\n" })
        #expect(first == "Done: 2 steps in 2.5 s of distillation (the steps alone, without test-accuracy checks or saving; median step 12.3 ms).", "\(first)")
    }
}

@Suite struct ProbeAndSnapshotTests {
    @Test func measuringTestAccuracyLeavesTheRunUnchanged() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let dataset = try smallDataset(in: scratch)
        let plain = try distilSmall(scratch, steps: 6, observers: [])
        let probe = TestAccuracyProbe(every: 2, test: dataset.test)
        let probed = try distilSmall(scratch, steps: 6, observers: [probe])
        #expect(plain.history.map(\.trainLoss) == probed.history.map(\.trainLoss))
        #expect(plain.distiller.images == probed.distiller.images)
        #expect(plain.metrics.testAccuracy == probed.metrics.testAccuracy)
        // Before the first step, every 2 steps; the last one is the final model's.
        #expect(probe.points.map(\.step) == [0, 2, 4, 6])
        #expect(probe.points.allSatisfy { (0...1).contains($0.accuracy) })
    }

    @Test func snapshotStepsAreSpreadOverTheRun() {
        #expect(SnapshotWriter.spread(first: 0, last: 200, every: 20, count: 6) == [0, 40, 80, 120, 160, 200])
        #expect(SnapshotWriter.spread(first: 0, last: 5, every: 2, count: 6) == [0, 2, 4, 5])
        #expect(SnapshotWriter.spread(first: 7, last: 30, every: 10, count: 6) == [7, 10, 20, 30])
        #expect(SnapshotWriter.fileName(step: 40) == "step-00040.png")
        #expect(SnapshotWriter.fileName(step: 123456) == "step-123456.png")
    }

    @Test func theContactSheetHasItsDocumentedSize() throws {
        var c = DistillerConfiguration()
        c.imagesPerClass = 2
        let frames = (0..<3).map { _ in (0..<(3 * 2 * 16)).map { Float($0 % 7) - 3 } }
        let sheet = ContactSheet(frames: frames, configuration: c, classes: 3, height: 4, width: 4, zoom: 4)
        let picture = try sheet.rendered()
        // Two images per class: the 3 classes' rows stand apart by the class gap.
        let gridWidth = 2 * 4 * 4 + 3 * 2, gridHeight = 3 * 4 * 4 + 4 * 2 + 2 * DistilledPicture.classGap
        #expect(picture.width == 2 * ContactSheet.margin + 3 * gridWidth + 2 * ContactSheet.gap)
        #expect(picture.height == 2 * ContactSheet.margin + gridHeight)
        #expect(picture.channels == 1)
        // A wide grid is drawn smaller so the sheet stays readable: one per class runs across (10 x 28 pixels).
        c.imagesPerClass = 1
        #expect(ContactSheet(frames: [], configuration: c, classes: 10, height: 28, width: 28, zoom: 4).scale == 1)
        #expect(throws: PNGError.self) { try ContactSheet(frames: [], configuration: c, classes: 10, height: 28, width: 28, zoom: 4).rendered() }
    }

    @Test func theEvaluationIntervalKeepsMeasuringUnderItsBudget() {
        // 300 steps of 15 ms; a measurement of 30 ms: 5% of 4.5 s is 0.225 s, room for about 6.5 measurements.
        let k = defaultEvaluationInterval(steps: 300, secondsPerStep: 0.015, secondsPerEvaluation: 0.03)
        #expect(k == 50)
        for steps in [10, 50, 300, 1000, 10_000] {
            for (s, e) in [(0.015, 0.03), (0.01, 0.001), (1.0, 0.2), (0.002, 0.05), (0.5, 0.01)] {
                guard let k = defaultEvaluationInterval(steps: steps, secondsPerStep: s, secondsPerEvaluation: e) else {
                    // None fits: even one measurement is more than 5% of the run.
                    #expect(e >= 0.05 * Double(steps) * s * 0.5, "\(steps) steps, \(s) s, \(e) s")
                    continue
                }
                #expect(k >= 1 && k <= steps)
                let cost = (Double(steps / k) + 1) * e
                #expect(cost <= 0.05 * Double(steps) * s * 1.000001, "\(steps) steps, \(s) s, \(e) s: every \(k)")
                #expect([1, 2, 5].contains { m in (0...6).contains { p in Int(Double(m) * pow(10, Double(p))) == k } })
            }
        }
        #expect(defaultEvaluationInterval(steps: 300, secondsPerStep: .nan, secondsPerEvaluation: 0.1) == nil)
        #expect(defaultEvaluationInterval(steps: 300, secondsPerStep: 0.01, secondsPerEvaluation: 0) == nil)
        #expect(defaultEvaluationInterval(steps: 5, secondsPerStep: 0.01, secondsPerEvaluation: 1) == nil)
    }

    @Test func baselinesArePrintedAsAnAlignedTable() throws {
        var m = ReportPageTests.metrics
        let baselines = [
            BaselineResult(name: "random_real", model: "logistic", imagesPerClass: 1, l2: 0.1, testAccuracy: 0.5512, testAccuracyStd: 0.031,
                           trainLoss: 1.2345, trainLossStd: 0.1, draws: 5, seconds: 1),
            BaselineResult(name: "full_data", model: "logistic", imagesPerClass: nil, l2: 1e-4, testAccuracy: 0.9264, testAccuracyStd: nil,
                           trainLoss: 0.27, trainLossStd: nil, draws: 1, seconds: 10),
        ]
        m.baselines = baselines
        let table = RunDisplay.baselineTable(m, baselines)
        #expect(table == [
            "model                              test accuracy  train loss",
            "---------------------------------  -------------  ----------",
            "distilled (this run)                      88.09%      0.6292",
            "random real (1 per class, L2 0.1)  55.12% ± 3.10      1.2345",
            "full data (all data, L2 0.0001)           92.64%      0.2700",
            "± : the sample standard deviation of the test accuracy over the 5 draws of a baseline drawn at random (in points of percent).",
        ])
    }
}

@Suite struct ClassNamesTests {
    @Test func namesAreReadOnePerLine() throws {
        #expect(try ClassNames.parse("cat\ndog\n", classes: 2, file: "n.txt") == ["cat", "dog"])
        #expect(try ClassNames.parse(" T-shirt/top \r\nTrouser", classes: 2, file: "n.txt") == ["T-shirt/top", "Trouser"])
        #expect(ClassNames.defaults(classes: 10) == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
    }

    @Test(arguments: [
        ("cat\ndog\n", 3, "error: names.txt: 2 class names for 3 classes; expected one name per line, one line per class"),
        ("cat\n\ndog\n", 3, "error: names.txt: line 2 is empty; expected one class name per line"),
        ("", 2, "error: names.txt: 0 class names for 2 classes; expected one name per line, one line per class"),
        ("a\nb\nc\n", 2, "error: names.txt: 3 class names for 2 classes; expected one name per line, one line per class"),
    ])
    func badFilesAreRejectedNamingTheFile(text: String, classes: Int, message: String) {
        #expect(throws: CLIError.self) { try ClassNames.parse(text, classes: classes, file: "names.txt") }
        do {
            _ = try ClassNames.parse(text, classes: classes, file: "names.txt")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func aWrongNamesFileStopsTheRunBeforeAnythingIsWritten() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let names = scratch.path + "/names.txt", out = scratch.path + "/out"
        try "cat\ndog\n".write(toFile: names, atomically: true, encoding: .utf8)
        let result = try runDistill(["--data", data.path, "--out", out, "--steps", "1", "--class-names", names])
        #expect(result.status == 1)
        #expect(result.stderr == "error: \(names): 2 class names for 3 classes; expected one name per line, one line per class\n")
        #expect(!FileManager.default.fileExists(atPath: out))
        let missing = try runDistill(["--data", data.path, "--out", out, "--steps", "1", "--class-names", scratch.path + "/none.txt"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: \(scratch.path)/none.txt: no such file; --class-names expects a text file with one class name a line\n")
    }
}

/// `distill run` in a pipe, as CI and log files see it.
@Suite struct PipedOutputTests {
    @Test func plainLinesHaveNoControlCharacters() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let result = try runDistill(["--data", data.path, "--out", scratch.path + "/out", "--steps", "20", "--eval-every", "10"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!hasControlCharacters(result.stdout))
        #expect(result.stdout.contains("step 1/20") && result.stdout.contains("step 20/20"))
        #expect(result.stdout.contains("step 10  test accuracy"))
        #expect(result.stdout.contains("Done: 20 steps in ") && result.stdout.contains("report.html"))
    }

    @Test func quietPrintsOnlyTheSummary() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let result = try runDistill(["--data", data.path, "--out", scratch.path + "/out", "--steps", "5", "--quiet", "--eval-every", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("Done: 5 steps in "))
        #expect(!result.stdout.replacingOccurrences(of: "; median step ", with: "").contains("step "))
        // The closing line pairs the steps' total time with the median step, named as such
        // ("Done: 5 steps in 61.7 ms of distillation (the steps alone, ...; median step 12.3 ms)."), not "ms per step"
        // (which reads as total / steps); under a second in ms (it used to say "0.0 s").
        let first = String(result.stdout.prefix { $0 != "\n" })
        #expect(first.range(of: #"^Done: 5 steps in ([0-9]+(\.[0-9])? ms|[0-9]+\.[0-9] s|[0-9]+ \#u{00B5}s) of distillation \(the steps alone, without test-accuracy checks or saving; median step ([0-9]+\.[0-9] ms|[0-9]+ \#u{00B5}s)\)\.$"#, options: .regularExpression) != nil, "\(first)")
        #expect(!result.stdout.contains("ms per step"))
        let html = try String(contentsOfFile: scratch.path + "/out/report.html", encoding: .utf8)
        #expect(html.contains("<th>median step</th>") && !html.contains("per step (median)"))
    }

    @Test func jsonLinesParseWithTheDocumentedKeys() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let result = try runDistill(["--data", data.path, "--out", scratch.path + "/out", "--steps", "6",
                                     "--log-format", "json", "--eval-every", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 6)
        for (index, line) in lines.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["step", "steps", "train_loss", "train_accuracy", "objective", "l2", "inner_iterations",
                        "inner_gradient_norm", "linear_solve_iterations", "linear_solve_residual", "seconds"] {
                #expect(object[key] != nil, "line \(index + 1) lacks \(key)")
            }
            #expect(object["step"] as? Int == index + 1 && object["steps"] as? Int == 6)
            #expect((object["test_accuracy"] != nil) == ((index + 1) % 3 == 0))
            // Each line says which set its figures measure: the training figures the
            // set before the step's update, the test ones the set after it.
            #expect(object["train_measured_after_step"] as? Int == index)
            #expect(object["test_measured_after_step"] as? Int == ((index + 1) % 3 == 0 ? index + 1 : nil))
        }
        // The opening line and the summary go to stderr, so stdout is JSON lines only.
        #expect(result.stderr.hasPrefix("Distilling 12 training images of 4x4 pixels"), "\(result.stderr)")
        #expect(result.stderr.contains("Done: 6 steps in "))
        // With --batch the step's figures are the batch's, named so (as in history.csv).
        let batched = try runDistill(["--data", data.path, "--out", scratch.path + "/out-batch", "--steps", "2",
                                      "--log-format", "json", "--batch", "6"])
        #expect(batched.status == 0, "\(batched.stderr)")
        for line in batched.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["batch_loss"] != nil && object["batch_accuracy"] != nil && object["batch_measured_after_step"] != nil)
            #expect(object["train_loss"] == nil && object["train_accuracy"] == nil, "\(line)")
        }
        #expect(JSONStepLines.number(.infinity) == "null" && JSONStepLines.number(0.25) == "0.25")
    }

    @Test func snapshotsAndTheContactSheetAreWritten() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let out = scratch.path + "/out"
        let result = try runDistill(["--data", data.path, "--out", out, "--steps", "5", "--snapshot-every", "2", "--quiet", "--zoom", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: out + "/snapshots").sorted()
        #expect(snapshots == ["step-00000.png", "step-00002.png", "step-00004.png", "step-00005.png"])
        let first = try PNGImage.read(contentsOf: out + "/snapshots/step-00000.png")
        let final = try PNGImage.read(contentsOf: out + "/snapshots/step-00005.png")
        // The same picture as distilled.png at the end.
        #expect(final == (try PNGImage.read(contentsOf: out + "/distilled.png")))
        #expect(first.width == final.width && first != final)
        let sheet = try PNGImage.read(contentsOf: out + "/progress.png")
        #expect(sheet.width == 2 * ContactSheet.margin + 4 * final.width + 3 * ContactSheet.gap)
        #expect(sheet.height == 2 * ContactSheet.margin + final.height)
    }
}
