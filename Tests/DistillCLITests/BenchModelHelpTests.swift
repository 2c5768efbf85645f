import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// bench --help lists the models bench times (it listed ridge and kernel-ridge, which bench refuses).
@Suite struct BenchModelHelpTests {
    /// `bench --help` listed ridge and kernel-ridge, which bench refuses.
    @Test func benchHelpListsTheModelsItTimes() throws {
        let help = try distillCommand(["bench", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--model <logistic|nngp|ntk>"), "\(help.stdout)")
        #expect(!help.stdout.contains("kernel-ridge") && !help.stdout.contains("ridge ("), "\(help.stdout)")
        for model in ["ridge", "kernel-ridge"] {
            let refused = try distillCommand(["bench", "--model", model, "--data", "/nonexistent-distill-data"])
            #expect(refused.stderr == "error: distill bench times --model logistic, nngp or ntk, got --model \(model).\n")
        }
        // run's help still lists every model.
        let runHelp = try distillCommand(["run", "--help"])
        #expect(runHelp.stdout.contains("--model <logistic|ridge|kernel-ridge|nngp|ntk>"))
    }

    /// `bench --help` listed --hypergradient and --unroll-steps, which bench
    /// refuses (it times the implicit hypergradient only); run's still lists them.
    @Test func benchHelpLeavesOutTheUnrolledOptions() throws {
        let help = try distillCommand(["bench", "--help"])
        #expect(help.status == 0)
        #expect(!help.stdout.contains("--hypergradient") && !help.stdout.contains("--unroll-steps"), "\(help.stdout)")
        let refused = try distillCommand(["bench", "--hypergradient", "unrolled", "--data", "/nonexistent-distill-data"])
        #expect(refused.stderr.hasPrefix("error: --hypergradient unrolled has no effect: distill bench times the implicit hypergradient only"))
        let runHelp = try distillCommand(["run", "--help"])
        #expect(runHelp.stdout.contains("--hypergradient <hypergradient>") && runHelp.stdout.contains("--unroll-steps <unroll-steps>"))
    }

    /// `--data`'s help names `--resume` on run's page only, and the recorded
    /// dataset on eval's (every page said "for run --resume and for eval of a run's folder").
    @Test(arguments: ["run", "sweep", "eval", "check", "bench", "convert"])
    func dataHelpSaysWhatAppliesToItsCommand(command: String) throws {
        let help = try distillCommand([command, "--help"])
        #expect(help.status == 0)
        // The option's lines: from "  --data <data>" to the next option or the group's end.
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("  --data <data>") })
        let rest = lines[(start + 1)...].prefix { $0.hasPrefix("   ") }
        let entry = ([lines[start]] + rest).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        #expect(entry.contains("--resume") == (command == "run"), "\(command): \(entry)")
        #expect(entry.contains("recorded") == (command == "run" || command == "eval"), "\(command): \(entry)")
        #expect(entry.contains("(default: "), "\(command): \(entry)")
    }
}
