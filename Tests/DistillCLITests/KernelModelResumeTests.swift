import DistillRun
import Foundation
import Testing
@testable import DistillCLI

/// Resume is bit-identical for the kernel models too (NNGP and NTK kernel ridge
/// regression): their warm start is the support set's Cholesky-based solution,
/// and their pixels are standardised by the training set's statistics, which
/// the checkpoint must restore exactly.
@Suite(.serialized) struct KernelModelResumeTests {
    @Test(arguments: ["ntk", "nngp"])
    func aStoppedAndResumedKernelRunEqualsOneNeverStopped(model: String) throws {
        let scratch = try ScratchFolder("kernel-resume-\(model)")
        defer { scratch.cleanUp() }
        let data = try ResumeTests.dataset(in: scratch)
        let straight = scratch.path + "/straight", split = scratch.path + "/split"
        let common = ["--data", data, "--model", model, "--images-per-class", "2", "--steps", "24",
                      "--checkpoint-every", "5", "--quiet"]
        try DistillCommand.Run.parse(common + ["--out", straight]).run()
        try DistillCommand.Run.parse(common + ["--out", split, "--stop-after-step", "11"]).run()
        let stopped = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: split + "/metrics.json")))
        #expect(stopped.steps == 11)
        try DistillCommand.Run.parse(["--resume", split, "--quiet"]).run()
        let resumed = try ResumeTests.fingerprint(split), reference = try ResumeTests.fingerprint(straight)
        #expect(resumed == reference)
        let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: straight + "/metrics.json")))
        #expect(metrics.steps == 24)
        #expect(metrics.model == model)
    }
}
