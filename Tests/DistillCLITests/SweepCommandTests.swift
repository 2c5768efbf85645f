import DistillRun
import Foundation
import Testing
import DistillIO
import Distill
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
        }
        let csv = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3)
        #expect(csv[0].hasPrefix("images_per_class,test_accuracy,train_loss,class_mean_correlation,seconds,random_real_test_accuracy"))
        let markdown = try String(contentsOfFile: out + "/sweep.md", encoding: .utf8)
        #expect(markdown.contains("Target 1.00%: reached at 1 image(s) per class."))
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
        try DistillCommand.Sweep.parse(["--data", data, "--out", out, "--images-per-class", "1,2", "--steps", "3",
                                        "--model", "ntk", "--quiet"]).run()
        for size in [1, 2] {
            let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/ipc-\(size)/metrics.json")))
            #expect(metrics.imagesPerClass == size && metrics.model == "ntk")
            let baselines = try #require(metrics.baselines)
            #expect(baselines.map(\.name) == ["random_real", size == 1 ? "class_means" : "kmeans", "full_data"])
            #expect(baselines.allSatisfy { $0.model == "ntk" && $0.testAccuracy > 0.1 })
            for file in ["distilled.png", "history.csv"] { #expect(FileManager.default.fileExists(atPath: "\(out)/ipc-\(size)/\(file)")) }
        }
        #expect(try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n").count == 3)
        let markdown = try String(contentsOfFile: out + "/sweep.md", encoding: .utf8)
        #expect(markdown.contains("a balanced subset of \(NeuralKernelCeiling.trainingImages) training images"))
        let chart = try String(contentsOfFile: out + "/sweep.svg", encoding: .utf8)
        #expect(chart.contains(">\(NeuralKernelCeiling.trainingImages) training images: "))
    }
}
