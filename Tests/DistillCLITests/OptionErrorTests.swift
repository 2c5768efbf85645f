import Foundation
import Testing
@testable import DistillCLI

/// A bad option is reported the same way whoever finds it, in every command:
/// ArgumentParser (a value that is not a number, an unknown option), a
/// `validate()` (`--batch -5`) or the command once the data is loaded
/// (`--batch 13` on 12 training images): one line on standard error,
/// "error: ...", and status 1 (`DistillCommand.exitReporting`). The first
/// two used to be ArgumentParser's "Error:" with usage lines and status 64.
@Suite struct OptionErrorTests {
    static let cases: [(arguments: [String], line: String)] = [
        (["run", "--batch", "-5"], "error: --batch: expected at least 1, found '-5'"),
        (["run", "--steps", "many"], "error: --steps: expected an integer, found 'many'"),
        (["run", "--no-such-option"], "error: unknown option '--no-such-option'"),
        (["run", "--stepz", "3"], "error: unknown option '--stepz'; did you mean '--steps'?"),
        (["run", "--baselines=1"], "error: the option '--baselines' does not take any value, but '1' was specified."),
        // A mistyped option is said before what a `validate()` finds (which ran first).
        (["eval", "--distiled", "x"], "error: unknown option '--distiled'; did you mean '--distilled'?"),
        (["run", "--stepz", "3", "--images-per-class", "0"], "error: unknown option '--stepz'; did you mean '--steps'?"),
        (["sweep", "--no-such-option=3", "--images-per-class", "0"], "error: unknown option '--no-such-option'"),
        (["sweep", "--images-per-class", "1,0"], "error: --images-per-class: expected a list of sizes of at least 1, found '1,0'"),
        (["eval", "--distilled", "x", "--network", "mlp", "--seeds", "0"], "error: --seeds: expected a value between 1 and 100, found '0'"),
        (["check", "--threads", "0"], "error: --threads: expected at least 1, found '0'"),
        (["bench", "--threads", "0"], "error: --threads: expected at least 1, found '0'"),
    ]

    @Test(arguments: cases.indices)
    func aBadOptionIsOneLineAndStatusOne(index: Int) throws {
        let (arguments, line) = Self.cases[index]
        let result = try distillCommand(arguments + ["--data", "/nonexistent-distill-data"])
        #expect(result.status == 1, "\(arguments)")
        #expect(result.stderr == line + "\n", "\(arguments)")
        #expect(result.stdout.isEmpty)
    }

    /// ArgumentParser's own sentences open in lower case, as ours do (they used
    /// to read "error: Missing value for ...", "error: Unknown option ...").
    @Test func argumentParsersSentencesOpenInLowerCase() throws {
        let missing = try distillCommand(["run", "--steps"])
        #expect(missing.status == 1 && missing.stderr == "error: missing value for '--steps <steps>'\n", "\(missing.stderr)")
        #expect(ValueErrorText.lowercasedOpening("CIFAR-10: no batches") == "CIFAR-10: no batches")
        #expect(ValueErrorText.lowercasedOpening("Unknown option '--x'. Did you mean '--y'?") == "unknown option '--x'; did you mean '--y'?")
    }

    /// `--batch -5` (refused by `validate()`) and `--batch 13` (refused once the
    /// 12 training images are loaded) look alike.
    @Test func aBatchRefusedBeforeOrAfterLoadingLooksTheSame() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let before = try runDistill(["--data", s.data.path, "--out", s.path + "/out", "--batch", "-5"])
        let after = try runDistill(["--data", s.data.path, "--out", s.path + "/out", "--batch", "13"])
        for result in [before, after] {
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("error: --batch") && result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)")
        }
    }

    /// Help and the version are not errors.
    @Test func helpAndVersionExitZero() throws {
        let help = try distillCommand(["run", "--help"]), version = try distillCommand(["--version"])
        #expect(help.status == 0 && help.stdout.hasPrefix("OVERVIEW: ") && help.stderr.isEmpty)
        #expect(version.status == 0 && !version.stdout.isEmpty && version.stderr.isEmpty)
    }
}
