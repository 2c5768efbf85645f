import DistillRun
import Foundation
import Testing
@testable import Distill
import DistillIO
@testable import DistillCLI

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

@Suite struct LiveProgressLineTests {
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
        #expect(output.contains("[########################] 10/10"))
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
        let line = LiveProgressLine(write: { _ in }, now: { 0 }, columns: 40)
        let record = StepRecord(step: 3, trainLoss: 1.5, objective: 1.5, l2: 0.1, trainAccuracy: 0.5, innerIterations: 4,
                                innerGradientNorm: 1e-7, innerConverged: true, linearSolveIterations: 9, linearSolveResidual: 1e-9,
                                linearSolveConverged: true, seconds: 0.02)
        #expect(line.line(record, steps: 10, elapsed: 1).count == 39)
        let wide = LiveProgressLine(write: { _ in }, now: { 0 }, columns: 300).line(record, steps: 10, elapsed: 3)
        #expect(wide == "[#######-----------------] 3/10  3.0 s  ETA 7.0 s  loss 1.5000  inner 4 it")
    }

    @Test func durationsReadNaturally() {
        #expect(duration(4.26) == "4.3 s")
        #expect(duration(125) == "2m05s")
        #expect(duration(3725) == "1h02m")
        #expect(duration(.nan) == "?")
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
        let frames = (0..<3).map { k in (label: "step \(k * 10)", pixels: (0..<(3 * 2 * 16)).map { Float($0 % 7) - 3 }) }
        let sheet = ContactSheet(frames: frames, rowLabels: ["cat", "dog", "t-shirt"], configuration: c,
                                 classes: 3, height: 4, width: 4, zoom: 4)
        let picture = try sheet.rendered()
        let gridWidth = 2 * 4 * 4 + 3 * 2, gridHeight = 3 * 4 * 4 + 4 * 2
        let labelColumn = BitmapText.width(of: "t-shirt") + ContactSheet.gap
        #expect(picture.width == 2 * ContactSheet.margin + labelColumn + 3 * gridWidth + 2 * ContactSheet.gap)
        #expect(picture.height == 2 * ContactSheet.margin + BitmapText.height + 8 + gridHeight)
        #expect(picture.channels == 1)
        // The labels are drawn in black on the white sheet.
        #expect(picture.pixels.contains(0))
        // A wide grid is drawn smaller so the sheet stays readable.
        c.imagesPerClass = 10
        #expect(ContactSheet(frames: [], rowLabels: [], configuration: c, classes: 10, height: 28, width: 28, zoom: 4).scale == 1)
        #expect(throws: PNGError.self) { try ContactSheet(frames: [], rowLabels: [], configuration: c, classes: 10, height: 28, width: 28, zoom: 4).rendered() }
    }

    @Test func textIsDrawnInsideTheImageOnly() throws {
        let blank = try PNGImage(width: 30, height: 10, channels: 3, pixels: [UInt8](repeating: 255, count: 900))
        let drawn = blank.annotated(with: "88", left: -3, top: -2, color: LineChart.Color(200, 0, 0))
        #expect(drawn.width == 30 && drawn.height == 10)
        #expect(drawn.pixel(x: 5, y: 0) == [200, 0, 0])  // the right column of the first "8", its second row
        #expect(drawn.pixel(x: 29, y: 9) == [255, 255, 255])
        #expect(BitmapText.width(of: "") == 0 && BitmapText.width(of: "ab") == 22)
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
        #expect(missing.stderr.hasPrefix("error: \(scratch.path)/none.txt: cannot read the class names"))
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
        #expect(result.stdout.contains("Done in") && result.stdout.contains("report.html"))
    }

    @Test func quietPrintsOnlyTheSummary() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let result = try runDistill(["--data", data.path, "--out", scratch.path + "/out", "--steps", "5", "--quiet", "--eval-every", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("Done in"))
        #expect(!result.stdout.contains("step "))
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
        }
        // The summary goes to stderr, so stdout is JSON lines only.
        #expect(result.stderr.contains("Done in"))
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
        let labelColumn = BitmapText.width(of: "2") + ContactSheet.gap
        #expect(sheet.width == 2 * ContactSheet.margin + labelColumn + 4 * final.width + 3 * ContactSheet.gap)
        #expect(sheet.height == 2 * ContactSheet.margin + BitmapText.height + 8 + final.height)
    }
}
