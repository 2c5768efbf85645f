import Distill
import DistillImages
import DistillRun
import Foundation
import Testing
@testable import DistillCLI

/// `distill run --batch N` (and `sweep`) through the real command: refused
/// where it would be meaningless or have no effect, recorded in metrics.json,
/// carried over by `--resume` (bit-identical to a run never stopped), listed
/// by `--help`, and timed per batch by the duration estimate.
@Suite(.serialized) struct OuterBatchRunTests {
    @Test(arguments: [(["--batch", "0"], "--batch: expected at least 1, found '0'"),
                      (["--batch=-3"], "--batch: expected at least 1, found '-3'"),
                      (["--batch", "-5"], "--batch: expected at least 1, found '-5'")])
    func aBatchBelowOneIsRefused(arguments: [String], message: String) throws {
        let s = try RunFaultTests.Scratch("batch-below-one")
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out] + arguments)
        // One line and status 1, as `--batch 13` below (it used to be ArgumentParser's
        // "Error:" and usage lines, status 64).
        #expect(result.status == 1)
        #expect(result.stderr == "error: " + message + "\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// The small dataset has 12 training images: a batch of 12 is the whole set
    /// (no effect), one of 13 cannot be drawn from it.
    @Test(arguments: [("12", "has no effect: the training set has 12 images, and without --batch every step takes all of them; leave it out, or give fewer than 12"),
                      ("13", "is more than the training set (12 images), from which each step's batch is drawn without replacement; give fewer than 12, or leave --batch out for every step to take all of them")])
    func aBatchOfTheWholeTrainingSetOrMoreIsRefused(batch: String, message: String) throws {
        let s = try RunFaultTests.Scratch("batch-whole-\(batch)")
        defer { s.scratch.cleanUp() }
        for command in ["run", "sweep"] {
            let out = s.path + "/out-" + command
            var arguments = [command, "--data", s.data.path, "--out", out, "--batch", batch, "--steps", "2", "--quiet"]
            if command == "sweep" { arguments += ["--images-per-class", "1", "--baselines", "off"] }
            let result = try distillCommand(arguments)
            #expect(result.status == 1)
            #expect(result.stderr == "error: --batch \(batch) \(message)\n")
            #expect(!FileManager.default.fileExists(atPath: out), "a run was made before the check")
        }
    }

    @Test func runHelpListsTheBatchWithItsTradeOff() {
        let help = DistillCommand.Run.helpMessage(columns: 100_000)
        let line = help.split(separator: "\n").first { $0.contains("--batch <N>") }.map(String.init) ?? ""
        #expect(line.contains("N training images drawn at random without replacement"))
        #expect(line.contains("costs about N/n of a full one") && line.contains("noisy, unbiased estimate of the exact full-set one"))
        #expect(line.contains("(default: the whole training set)"))
        #expect(DistillCommand.Sweep.helpMessage(columns: 100_000).contains("--batch <N>"))
    }

    /// metrics.json records the batch when given (and not otherwise: the
    /// default run's record is unchanged); history.csv's training loss and
    /// accuracy are the batch's, metrics.json's final ones the whole set's.
    @Test func theBatchIsRecordedAndEvalReadsTheRecordBack() throws {
        let s = try RunFaultTests.Scratch("batch-recorded")
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out", plain = s.path + "/plain"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "3", "--batch", "5", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let recorded = try RecordedConfigurationTests.configuration(out)
        #expect(recorded["batch"] as? Int == 5)
        #expect(Set(recorded.keys) == RecordedConfigurationTests.shared.union(["linearSolveTolerance", "linearSolveMaxIterations", "batch"]))
        // Every batch accuracy is a multiple of 1/5, in columns named for the batch.
        let lines = try String(contentsOfFile: out + "/history.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "step,batch_loss,inner_iterations,inner_gradient_norm,linear_solve_iterations,linear_solve_residual,seconds,batch_accuracy")
        let history = lines.dropFirst()
        #expect(history.count == 3)
        for row in history {
            let accuracy = try #require(Double(row.split(separator: ",").last.map(String.init) ?? ""))
            #expect(abs(accuracy * 5 - (accuracy * 5).rounded()) < 1e-9, "\(row)")
        }
        // report.html says whose loss its chart shows.
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(report.contains("<h2>Training loss (each step's batch of 5 images)</h2>") && report.contains("batch loss (cross-entropy)"))
        // So do the console lines (not quiet; lines, not the live display, on a pipe).
        let shown = try runDistill(["--data", s.data.path, "--out", s.path + "/shown", "--steps", "3", "--batch", "5"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("(3 steps on seeded batches of 5 of them, 2 threads)"), "\(shown.stdout)")
        #expect(shown.stdout.contains("step 1/3  batch loss "), "\(shown.stdout)")
        let eval = try distillCommand(["eval", "--distilled", out, "--data", s.data.path, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let plainRun = try runDistill(["--data", s.data.path, "--out", plain, "--steps", "3", "--quiet"])
        #expect(plainRun.status == 0, "\(plainRun.stderr)")
        #expect(try RecordedConfigurationTests.configuration(plain)["batch"] == nil)
    }

    /// A run with `--batch` stopped and resumed equals one never stopped: the
    /// batch of a step depends on the seed and the step only.
    @Test(arguments: ["logistic", "ntk"])
    func aStoppedAndResumedBatchedRunEqualsOneNeverStopped(model: String) throws {
        let scratch = try ScratchFolder("batch-resume-\(model)")
        defer { scratch.cleanUp() }
        let data = try ResumeTests.dataset(in: scratch)
        let straight = scratch.path + "/straight", split = scratch.path + "/split", full = scratch.path + "/full"
        let common = ["--data", data, "--model", model, "--images-per-class", "2", "--steps", "16", "--seed", "3",
                      "--checkpoint-every", "5", "--quiet"]
        try DistillCommand.Run.parse(common + ["--batch", "100", "--out", straight]).run()
        try DistillCommand.Run.parse(common + ["--batch", "100", "--out", split, "--stop-after-step", "7"]).run()
        let stopped = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: split + "/metrics.json")))
        #expect(stopped.steps == 7)
        // Another batch is refused on resume, naming the recorded one.
        let other = try runDistill(["--resume", split, "--batch", "50", "--quiet"])
        #expect(other.status == 1)
        #expect(other.stderr == "error: --batch 50: a resumed run keeps the settings it was started with (--batch 100); leave --batch out, or start a new run into another --out\n")
        try DistillCommand.Run.parse(["--resume", split, "--quiet"]).run()
        let resumed = try ResumeTests.fingerprint(split), reference = try ResumeTests.fingerprint(straight)
        #expect(resumed == reference)
        // The batch changed the run (else this test could not tell).
        try DistillCommand.Run.parse(common + ["--out", full]).run()
        #expect(try ResumeTests.fingerprint(full)["distilled-images-idx3-float"] != reference["distilled-images-idx3-float"])
    }

    /// A run started without `--batch` cannot gain one on resume.
    @Test func aBatchCannotBeAddedOnResume() throws {
        let s = try RunFaultTests.Scratch("batch-added")
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        #expect(try runDistill(["--data", s.data.path, "--out", out, "--steps", "4", "--stop-after-step", "2", "--quiet"]).status == 0)
        let result = try runDistill(["--resume", out, "--batch", "5", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: --batch 5: a resumed run keeps the settings it was started with (no --batch); leave --batch out, or start a new run into another --out\n")
    }

    @Test func theRerunCommandCarriesTheBatch() {
        var c = DistillerConfiguration()
        #expect(!RerunCommand.settings(c).contains("--batch"))
        c.batch = 250
        let settings = RerunCommand.settings(c)
        #expect(settings.firstIndex(of: "--batch").map { settings[$0 + 1] } == "250")
    }

    /// A batched step costs `a + b N` whatever n: it is timed on batches (the
    /// run's own when N is at most max(4,000, n/8), else batches of the n1 and
    /// n2 images a full step is timed on, the line taken to N), never on the
    /// whole training set.
    @Test func aBatchedRunIsTimedOnBatches() throws {
        let n = 9600
        let train = LabeledImages.periodic(count: n)
        var configuration = DistillerConfiguration()
        configuration.steps = 5
        for (batch, timedOn) in [(300, [300]), (3000, [3000]), (8000, [500, 2000])] {
            configuration.batch = batch
            let distiller = try Distiller(train: train, configuration: configuration)
            let estimate = DurationEstimate.measure(distiller, train: train)
            #expect(estimate.timedOn == timedOn && estimate.batch == batch && estimate.trainingImages == n && estimate.steps == 5)
            #expect(estimate.secondsPerStep > 0)
            let text = try #require(estimate.runAnnouncement(threshold: 0))
            #expect(text.contains(batch < 4000 ? "timed on a copy of the first step over its batch of \(batch) of the 9600 training images"
                                               : "timed on copies of the first step over batches of 500 and 2000 of the 9600 training images, for its batches of 8000"))
            #expect(text.contains("as does a --batch below \(batch)"))
        }
        configuration.batch = nil
        let full = DurationEstimate.measure(try Distiller(train: train, configuration: configuration), train: train)
        #expect(full.timedOn == [500, 2000] && full.batch == nil)
    }
}
