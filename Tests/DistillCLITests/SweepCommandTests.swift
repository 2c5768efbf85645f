import DistillRun
import Foundation
import Testing
import DistillIO
@testable import Distill
@testable import DistillCLI

@Suite(.serialized) struct SweepCommandTests {
    @Test func sizesParseFromACommaList() throws {
        let sweep = try DistillCommand.Sweep.parse(["--images-per-class", "1,3,7", "--target-accuracy", "92"])
        #expect(sweep.imagesPerClass.sizes == [1, 3, 7])
        #expect(sweep.targetFraction == 0.92)
        #expect(throws: (any Error).self) { try DistillCommand.Sweep.parse(["--images-per-class", "1,x"]) }
        #expect(throws: (any Error).self) { try DistillCommand.Sweep.parse(["--images-per-class", "0,2"]) }
        #expect(throws: (any Error).self) { try DistillCommand.Sweep.parse(["--target-accuracy", "101"]) }
    }

    @Test func writesOneFolderPerSizeAndTheSummaries() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = scratch.path + "/data", out = scratch.path + "/sweep"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try RunEndToEndTests.writeSubset(to: data, train: 500, test: 200)
        try DistillCommand.Sweep.parse(["--data", data, "--out", out, "--images-per-class", "1,2", "--steps", "5",
                                        "--target-accuracy", "0.01", "--quiet"]).run()
        for size in [1, 2] {
            let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/ipc-\(size)/metrics.json")))
            #expect(metrics.imagesPerClass == size)
            #expect(metrics.baselines?.map(\.name) == ["random_real", size == 1 ? "class_means" : "kmeans", "full_data"])
            #expect(metrics.readability != nil)
            // Each size's folder is a run's folder: its report.html too (it used to have none),
            // with the baselines trained after the run and the command that runs the size again.
            let html = try String(contentsOfFile: "\(out)/ipc-\(size)/report.html", encoding: .utf8)
            try expectSelfContained(html)
            #expect(html.contains(": \(size) image\(size == 1 ? "" : "s") per class</h1>"))
            #expect(html.contains("<td>random real (\(size) per class, L2 ") && html.contains("<td>full data (all data, L2 0.0001)</td>"))
            #expect(html.contains(">all data: ") && html.contains("<th>median step</th>"))
            #expect(html.contains(" run --images-per-class \(size) --steps 5 --seed 0 ") && html.contains("/ipc-\(size)-again --baselines --quiet</code>") && !html.contains("--replace"))
            #expect(html.contains("<a href=\"report.html\">") && html.contains("<a href=\"checkpoint/\">"))
        }
        let csv = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3)
        #expect(csv[0].hasPrefix("images_per_class,test_accuracy,train_loss,class_mean_correlation,seconds,random_real_test_accuracy"))
        let markdown = try String(contentsOfFile: out + "/sweep.md", encoding: .utf8)
        #expect(markdown.contains("Target 1.00%: reached at 1 image per class."))
        let chart = try String(contentsOfFile: out + "/sweep.svg", encoding: .utf8)
        _ = try SVGElements(chart)
        #expect(chart.contains(">distilled<") && chart.contains("class=\"reference\"") && chart.contains(">all data: "))
        #expect(!FileManager.default.fileExists(atPath: out + "/sweep.png"))
    }

    @Test func theNTKSweepWritesItsFilesWithKernelBaselines() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = scratch.path + "/data", out = scratch.path + "/sweep"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try RunEndToEndTests.writeSubset(to: data, train: 300, test: 100)
        let sweep = try distillCommand(["sweep", "--data", data, "--out", out, "--images-per-class", "1,2", "--steps", "3", "--model", "ntk"])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        // The ceiling is announced before the first size's baselines, once; on
        // 300 images it is fitted on all of them (the subset has 10,000).
        let lines = sweep.stdout.split(separator: "\n").map(String.init)
        let announcement = "Training the baselines of this size and the ceiling (ntk on all the training data at L2 0.0001): one Cholesky factorisation of its 300 x 300 kernel matrix (about \(ResourceEstimate.text(4 * 300 * 300 * 8)) of memory), then the kernel against every training and test image..."
        #expect(lines.filter { $0 == announcement }.count == 1, "\(lines)")
        let announced = try #require(lines.firstIndex(of: announcement)), ceiling = try #require(lines.firstIndex { $0.hasPrefix("Ceiling: ntk on all the training data") })
        let firstSize = try #require(lines.firstIndex { $0.hasPrefix("1 per class: ") })
        #expect(announced < ceiling && ceiling < firstSize)
        // Each later size announces its own baselines, without the ceiling (they used to train silently).
        let later = "Training the baselines of this size (random real images and k-means centroids; the ceiling was trained once, with the first size's)..."
        let laterAnnounced = try #require(lines.firstIndex(of: later), "\(lines)")
        #expect(firstSize < laterAnnounced && laterAnnounced < (lines.firstIndex { $0.hasPrefix("2 per class: ") } ?? -1))
        for size in [1, 2] {
            let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/ipc-\(size)/metrics.json")))
            #expect(metrics.imagesPerClass == size && metrics.model == "ntk")
            // The standardisation the kernel saw: the training set's pixel mean and standard deviation.
            let train = try LoadedDataset(path: data).train
            #expect(metrics.pixelStandardisation == PixelStandardisation.measured(on: train))
            let object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/ipc-\(size)/metrics.json"))) as? [String: Any])
            let recorded = try #require(object["pixel_standardisation"] as? [String: Double])
            #expect(recorded["mean"] == metrics.pixelStandardisation?.mean && recorded["std"] == metrics.pixelStandardisation?.std)
            let baselines = try #require(metrics.baselines)
            #expect(baselines.map(\.name) == ["random_real", size == 1 ? "class_means" : "kmeans", "full_data"])
            #expect(baselines.allSatisfy { $0.model == "ntk" && $0.testAccuracy > 0.1 })
            for file in ["distilled.png", "history.csv"] { #expect(FileManager.default.fileExists(atPath: "\(out)/ipc-\(size)/\(file)")) }
        }
        #expect(try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n").count == 3)
        let markdown = try String(contentsOfFile: out + "/sweep.md", encoding: .utf8)
        // 300 training images: the ceiling saw all of them (it used to say "a balanced subset of 10000").
        #expect(markdown.contains("and on all the training data at L2") && markdown.contains("| full data |"), "\(markdown)")
        let chart = try String(contentsOfFile: out + "/sweep.svg", encoding: .utf8)
        #expect(chart.contains(">all data: "))
    }

    /// On more training images than the NNGP / NTK ceiling's subset, sweep.md's
    /// column, its note and the chart call the ceiling what it is, never "full
    /// data" (the column used to), and the announcement gives its memory and
    /// that it takes minutes.
    /// sweep.md gives each size's distillation time as the run's closing line
    /// does (`NumberText.duration`): a 22 ms run is "21.8 ms", never "0.0".
    /// `--quiet` prints what its help says (it said "only errors and the final
    /// summary" while a line for the ceiling and one per size were printed): the
    /// ceiling's line, one line per size, the files written and the target's line,
    /// and none of the steps' lines or announcements.
    @Test func quietPrintsWhatItsHelpSays() throws {
        let help = DistillCommand.Sweep.helpMessage(columns: 10_000)
        #expect(help.contains("Print only errors and the results: the ceiling's line, one line per size as it finishes (and one for its networks with --network), the files written and, with --target-accuracy, the smallest size reaching it;"), "\(help)")
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path), out = scratch.path + "/sweep"
        try data.writeSmallDataset()
        let sweep = try distillCommand(["sweep", "--data", data.path, "--out", out, "--images-per-class", "1,2", "--steps", "3",
                                        "--target-accuracy", "0.01", "--quiet"])
        #expect(sweep.status == 0 && sweep.stderr.isEmpty, "\(sweep.stderr)")
        let lines = sweep.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(sweep.stdout)")
        guard lines.count == 5 else { return }
        #expect(lines[0].hasPrefix("Ceiling: logistic on all the training data at L2 "), "\(lines[0])")
        #expect(lines[1].hasPrefix("1 per class: test accuracy ") && lines[2].hasPrefix("2 per class: test accuracy "), "\(sweep.stdout)")
        #expect(lines[3].hasPrefix("Wrote \(out)/sweep.csv, ") && lines[4].hasPrefix("The smallest size reaching 1.00% test accuracy: "), "\(sweep.stdout)")
    }

    @Test func sweepMarkdownGivesShortRunsInMilliseconds() {
        let rows = [(1, 0.021_8), (2, 0.512), (5, 4.3), (10, 125.0)].map {
            SweepRow(imagesPerClass: $0.0, testAccuracy: 0.9, trainLoss: 0.3, correlation: nil, seconds: $0.1, baselines: [])
        }
        let lines = SweepReport(rows: rows, target: nil).markdown.split(separator: "\n")
        #expect(lines[0].hasSuffix("| distillation time |"))
        for (line, time) in zip(lines.dropFirst(2), ["21.8 ms", "512 ms", "4.3 s", "2m05s"]) {
            #expect(line.hasSuffix("| \(time) |"), "\(line)")
        }
    }

    @Test func aCeilingOnASubsetIsNotCalledFullData() throws {
        let size = CeilingSize(images: 10_000, trainingImages: 60_000)
        let baseline = BaselineResult(name: "full_data", model: "ntk", imagesPerClass: nil, l2: 1e-4, testAccuracy: 0.9708,
                                      testAccuracyStd: nil, trainLoss: 0.1, trainLossStd: nil, draws: 1, seconds: 120)
        let row = SweepRow(imagesPerClass: 1, testAccuracy: 0.92, trainLoss: 0.8, correlation: nil, seconds: 10, baselines: [baseline])
        let report = SweepReport(rows: [row], target: nil, ceilingTrainingImages: 10_000)
        #expect(report.markdown.contains("| ceiling (10000 training images) |") && !report.markdown.contains("full data"), "\(report.markdown)")
        #expect(report.markdown.contains("and on a balanced subset of 10000 training images"))
        #expect(report.chart().svg().contains(">10000 training images: 97.1%"))
        #expect(SweepReport(rows: [row], target: nil).markdown.contains("| full data |"))
        #expect(DistillCommand.Sweep.ceilingAnnouncement(model: "ntk", size: size, set: report.ceilingSet)
                == "Training the baselines of this size and the ceiling (ntk on \(report.ceilingSet) at L2 0.0001): one Cholesky factorisation of its 10000 x 10000 kernel matrix (about 3.0 GiB of memory), then the kernel against every training and test image; up to a minute or two on 2 cores...")
        #expect(DistillCommand.Sweep.ceilingAnnouncement(model: "logistic", size: CeilingSize(images: 60_000, trainingImages: 60_000), set: "all the training data")
                == "Training the baselines of this size and the ceiling (logistic on all the training data at L2 0.0001)...")
        // run --baselines names it the same way in its table and report.html.
        #expect(ReportPage.Baseline(baseline, ceiling: size) == ReportPage.Baseline(
            name: "ceiling (10000 of the 60000 training images, L2 0.0001)", testAccuracy: 0.9708, trainLoss: 0.1, ceilingLabel: "10000 training images"))
        #expect(ReportPage.Baseline(baseline, ceiling: CeilingSize(images: 300, trainingImages: 300)).name == "full data (all data, L2 0.0001)")
    }
}
