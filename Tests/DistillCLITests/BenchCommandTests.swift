import DistillRun
import Foundation
import Testing
@testable import DistillCLI

@Suite struct BenchOptionTests {
    @Test func defaultsAreTheDocumentedOnes() throws {
        let bench = try DistillCommand.Bench.parse([])
        #expect(bench.data == "data/mnist")
        #expect(bench.imagesPerClass == 1 && bench.repetitions == 30 && bench.threads == 2 && !bench.json)
    }

    @Test func everyOptionIsParsed() throws {
        let command = try DistillCommand.parseAsRoot(["bench", "--data", "d", "--images-per-class", "10",
                                                      "--repetitions", "5", "--threads", "1", "--json"])
        let bench = try #require(command as? DistillCommand.Bench)
        #expect(bench.data == "d" && bench.imagesPerClass == 10 && bench.repetitions == 5 && bench.threads == 1 && bench.json)
    }

    /// The NTK table's "loss only" row and its JSON key are explained in `--help`,
    /// under the name the table prints.
    @Test func theLossOnlyRowIsExplainedInTheHelp() throws {
        let help = DistillCommand.helpMessage(for: DistillCommand.Bench.self, columns: 1000)
        let report = KernelBenchReport(
            model: "ntk", depth: 2, outerLoss: "mse", passMs: 2, forwardPassMs: 1, innerSolveMs: 1, stepMs: 3, loadMs: 1, passGflops: 1,
            peakGflops: 2, boundMs: 1, passToBoundRatio: 2, stepToBoundRatio: 3, multiplyAddFraction: 0.5, peakRSSBytes: 1,
            threads: 1, imagesPerClass: 1, supportImages: 10, repetitions: 1, trainImages: 10, features: 4, classes: 10, avx512: false,
            amxProducts: false)
        #expect(report.table.contains("\n    loss only  "))
        #expect(report.json.contains("\"forward_pass_ms\""))
        #expect(help.contains("Its row \"loss only\" (forward_pass_ms in --json) times the same pass without the gradients"))
    }

    /// The NTK table's header names the outer loss it timed (the default and `--outer-loss mse`
    /// used to print the same header), and "work done" says what the products did: the share
    /// skipped, none skipped (at 2 per class on MNIST nothing can be), or AMX tiles.
    @Test func theKernelTableNamesItsLossAndWhatTheProductsDid() {
        var report = KernelBenchReport(
            model: "ntk", depth: 2, outerLoss: "cross-entropy", passMs: 2, forwardPassMs: 1, innerSolveMs: 1, stepMs: 3, loadMs: 1,
            passGflops: 1, peakGflops: 2, boundMs: 1, passToBoundRatio: 2, stepToBoundRatio: 3, multiplyAddFraction: 1,
            peakRSSBytes: 1, threads: 1, imagesPerClass: 2, supportImages: 20, repetitions: 1, trainImages: 10, features: 4,
            classes: 10, avx512: true, amxProducts: false)
        #expect(report.table.contains("--model ntk --depth 2 --outer-loss cross-entropy, n = 10"))
        #expect(report.json.contains("\"outer_loss\"") && report.json.contains("cross-entropy"))
        #expect(report.workDone == "100.0% of the dense 2 n m p multiply-adds (no zero pixels skipped at this support set size)")
        report.multiplyAddFraction = 0.207
        #expect(report.workDone.hasPrefix("20.7% of the dense 2 n m p multiply-adds (zero pixels skipped;"))
        report.amxProducts = true
        #expect(report.workDone.contains("as exact integer products on AMX-INT8 tiles"))
        #expect(report.table.contains("products on AMX-INT8 tiles)"))
    }

    @Test(arguments: [
        (["--images-per-class", "0"], "--images-per-class: expected at least 1"),
        (["--repetitions", "0"], "--repetitions: expected at least 1"),
        (["--repetitions=-2"], "--repetitions: expected at least 1"),
        (["--threads", "0"], "--threads: expected at least 1"),
    ])
    func badValuesAreRejectedWithASentence(arguments: [String], message: String) {
        do {
            _ = try DistillCommand.Bench.parse(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            #expect(DistillCommand.Bench.message(for: error).contains(message))
            #expect(DistillCommand.Bench.exitCode(for: error) == .validationFailure)
        }
    }
}

/// The benchmark end to end on a small MNIST subset (no timing is asserted).
@Suite(.serialized) struct BenchEndToEndTests {
    @Test func jsonHasEveryKeyWithSaneValues() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        try RunEndToEndTests.writeSubset(to: scratch.path, train: 400, test: 100)
        let bench = try DistillCommand.Bench.parse(["--data", scratch.path, "--images-per-class", "2",
                                                    "--repetitions", "3", "--threads", "2", "--json"])
        let report = try bench.measure()
        let object = try #require(JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        for key in ["outer_pass_ms", "inner_solve_ms", "linear_solve_ms", "hypergradient_ms", "step_ms", "load_ms",
                    "outer_pass_gflops", "outer_pass_gbps"] {
            let value = try #require(object[key] as? Double, "\(key) is missing or not a number")
            #expect(value > 0 && value.isFinite, "\(key) = \(value)")
        }
        #expect((object["peak_rss_bytes"] as? Int).map { $0 > 0 } == true)
        #expect(object["threads"] as? Int == 2)
        #expect(object["images_per_class"] as? Int == 2)
        #expect(report.trainImages == 400 && report.features == 784 && report.classes == 10)
        #expect(report.table.contains("outer pass") && report.table.contains("whole step"))
        // The share of the dense multiply-adds the pass did: MNIST's zero chunks are left out with AVX-512.
        let fraction = try #require(object["multiply_add_fraction"] as? Double)
        #expect(fraction > 0 && fraction <= 1 && (!report.avx512 || fraction < 1), "\(fraction)")
        #expect(report.table.contains("  work done  "))
    }

    @Test func aMissingDataFolderIsAnError() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let bench = try DistillCommand.Bench.parse(["--data", scratch.path + "/nowhere", "--repetitions", "1"])
        #expect(throws: (any Error).self) { try bench.run() }
    }
}
