import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// A first argument that names no subcommand is refused, naming the real ones.
@Suite struct MistypedSubcommandTests {
    static let subcommands = "run, sweep, eval, check, bench, convert"

    /// Within two edits of a subcommand, or starting with one's name or
    /// starting one's name, the error asks whether it was meant.
    static let mistyped: [(arguments: [String], word: String, meant: String?)] = [
        (["evl", "--distilled", "out"], "evl", "eval"),
        (["swep"], "swep", "sweep"),
        (["help", "nosuch"], "nosuch", nil),
        (["Run", "--steps", "3"], "Run", "run"),
        (["benchmark"], "benchmark", "bench"),
        (["evaluate", "--distilled", "out"], "evaluate", "eval"),
        (["Evaluation"], "Evaluation", "eval"),
        (["conv"], "conv", "convert"),
        (["sweeps-all"], "sweeps-all", "sweep"),
        (["chek"], "chek", "check"),
        (["x"], "x", nil),
    ]

    @Test(arguments: mistyped.indices)
    func aMistypedSubcommandIsNamed(index: Int) throws {
        let (arguments, word, meant) = Self.mistyped[index]
        let result = try distillCommand(arguments)
        #expect(result.status == 1)
        let question = meant.map { "; did you mean '\($0)'?" } ?? ""
        #expect(result.stderr == "error: unknown subcommand '\(word)'; expected one of \(Self.subcommands)\(question)\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func editDistanceByHand() {
        #expect(DistillCommand.editDistance("evl", "eval") == 1)
        #expect(DistillCommand.editDistance("kitten", "sitting") == 3)
        #expect(DistillCommand.editDistance("", "run") == 3 && DistillCommand.editDistance("run", "") == 3)
        #expect(DistillCommand.editDistance("sweep", "sweep") == 0)
    }

    /// The default command's options, a real subcommand and help still work.
    @Test func optionsOfTheDefaultCommandAndHelpStillWork() throws {
        let run = try distillCommand(["--images-per-class", "0"])
        #expect(run.stderr == "error: --images-per-class: expected at least 1, found '0'\n")
        let help = try distillCommand(["help", "eval"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: distill eval"))
        let top = try distillCommand(["help"])
        #expect(top.status == 0 && top.stdout.contains("SUBCOMMANDS:"))
    }
}
