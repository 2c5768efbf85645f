import Distill
import DistillImages
import DistillRun
import Foundation
import Testing

/// Issue 11 point 3, "a size that will take very long is announced with an
/// estimate before it starts", through the real executable: the estimate is
/// printed before the first progress line, for `run` and `sweep` and every
/// model. `DISTILL_ANNOUNCE_SECONDS` sets the threshold (600 s by default), so
/// that a small run can be made to announce itself.
@Suite struct DurationEstimateTests {
    /// Runs `distill arguments...` with `environment` added, standard output and
    /// error merged in the order they were written.
    static func merged(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, lines: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(distillExecutable))
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text.split(separator: "\n").map(String.init))
    }

    /// The index of the first line that reports a step (`before step 1  test accuracy ...`,
    /// `step 1/3 ...`, `after step 1  test accuracy ...`).
    static func firstProgressLine(_ lines: [String]) -> Int? {
        lines.firstIndex { $0.hasPrefix("step ") || $0.hasPrefix("before step ") || $0.hasPrefix("after step ") }
    }

    @Test(arguments: InnerModels.names)
    func aLongRunIsAnnouncedBeforeItsFirstStep(model: String) throws {
        let s = try RunFaultTests.Scratch("announce-" + model)
        defer { s.scratch.cleanUp() }
        let arguments = ["run", "--data", s.data.path, "--out", s.path + "/out", "--steps", "3", "--model", model, "--eval-every", "1"]
        let result = try Self.merged(arguments, environment: [DurationEstimate.thresholdVariable: "0"])
        #expect(result.status == 0, "\(result.lines)")
        let announcement = try #require(result.lines.firstIndex { $0.hasPrefix("Estimated time: the 3 steps of this run will take about ") },
                                        "\(result.lines)")
        let progress = try #require(Self.firstProgressLine(result.lines))
        #expect(announcement < progress, "\(result.lines)")
        let text = result.lines[announcement]
        #expect(text.contains("timed on a copy of the first step over all 12 training images, before step 1"))
        #expect(text.contains("fewer --steps or a smaller --images-per-class make it shorter"))
    }

    @Test func aShortRunIsNotAnnouncedAndABadThresholdIsRefused() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let arguments = ["run", "--data", s.data.path, "--out", s.path + "/out", "--steps", "3"]
        // The default threshold (600 s): a run of milliseconds says nothing.
        let quiet = try Self.merged(arguments, environment: [:])
        #expect(quiet.status == 0)
        #expect(!quiet.lines.contains { $0.hasPrefix("Estimated time") })
        let bad = try Self.merged(arguments + ["--replace"], environment: [DurationEstimate.thresholdVariable: "ten"])
        #expect(bad.status == 1)
        #expect(bad.lines == ["error: DISTILL_ANNOUNCE_SECONDS=ten: expected a number of seconds, 0 or more (a run estimated to take longer is announced before step 1)"])
    }

    @Test func aLongSweepIsAnnouncedBeforeItsFirstRun() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let arguments = ["sweep", "--data", s.data.path, "--out", s.path + "/sweep", "--images-per-class", "1,2", "--steps", "2",
                         "--baselines", "off", "--model", "ntk"]
        let result = try Self.merged(arguments, environment: [DurationEstimate.thresholdVariable: "0"])
        #expect(result.status == 0, "\(result.lines)")
        let announcement = try #require(result.lines.firstIndex { $0.hasPrefix("Estimated time: the distillations of this sweep (2 steps at each size) will take about ") },
                                        "\(result.lines)")
        #expect(announcement < (Self.firstProgressLine(result.lines) ?? -1), "\(result.lines)")
        let text = result.lines[announcement]
        #expect(text.contains("(1 per class: ") && text.contains(", 2 per class: "))
        #expect(text.contains("fewer or smaller sizes in --images-per-class or fewer --steps make it shorter"))
    }

    /// More than 4,000 training images: steps on class-balanced subsets of
    /// n/8 (at least 2,000) and a quarter of that (at least 500), extrapolated
    /// along the line through them.
    @Test func aLargeTrainingSetIsTimedOnTwoBalancedSubsets() throws {
        #expect(DurationEstimate.subsetSizes(for: 4000) == nil)
        #expect(DurationEstimate.subsetSizes(for: 4001).map { [$0.0, $0.1] } == [500, 2000])
        #expect(DurationEstimate.subsetSizes(for: 60_000).map { [$0.0, $0.1] } == [1875, 7500])
        let n = 4800
        let train = LabeledImages.periodic(count: n)
        var configuration = DistillerConfiguration()
        configuration.steps = 7
        let distiller = try Distiller(train: train, configuration: configuration)
        let estimate = DurationEstimate.measure(distiller, train: train)
        #expect(estimate.timedOn == [500, 2000] && estimate.trainingImages == n && estimate.steps == 7)
        #expect(estimate.secondsPerStep > 0 && estimate.seconds == 7 * estimate.secondsPerStep)
        let subset = DurationEstimate.balancedSubset(train, count: 1000)
        #expect(subset.count == 1000 && subset.classCounts == [334, 333, 333])
    }
}

extension LabeledImages {
    /// `count` 4×4 byte images of `classes` classes for timing tests: pixel `i`
    /// (over all images) is `i mod 251`, image `j`'s label `j mod classes`.
    static func periodic(count: Int, classes: Int = 3) -> LabeledImages {
        let features = 16
        return LabeledImages(pixels: .bytes((0..<(count * features)).map { UInt8($0 % 251) }), scale: 1 / 255,
                             labels: (0..<count).map { Int32($0 % classes) }, shape: ImageShape(height: 4, width: 4), classes: classes)
    }
}
