import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// A first argument that names no subcommand is refused, naming the real ones.
@Suite struct MistypedSubcommandTests {
    static let subcommands = "run, sweep, eval, check, bench, convert"

    @Test(arguments: [
        (["evl", "--distilled", "out"], "evl"),
        (["swep"], "swep"),
        (["help", "nosuch"], "nosuch"),
        (["Run", "--steps", "3"], "Run"),
    ])
    func aMistypedSubcommandIsNamed(arguments: [String], word: String) throws {
        let result = try distillCommand(arguments)
        #expect(result.status == 1)
        #expect(result.stderr == "error: unknown subcommand '\(word)'; expected one of \(Self.subcommands)\n")
        #expect(result.stdout.isEmpty)
    }

    /// The default command's options, a real subcommand and help still work.
    @Test func optionsOfTheDefaultCommandAndHelpStillWork() throws {
        let run = try distillCommand(["--images-per-class", "0"])
        #expect(run.stderr == "error: --images-per-class must be at least 1, got 0.\n")
        let help = try distillCommand(["help", "eval"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: distill eval"))
        let top = try distillCommand(["help"])
        #expect(top.status == 0 && top.stdout.contains("SUBCOMMANDS:"))
    }
}
