import ArgumentParser
import Foundation
import Testing
@testable import DistillCLI

/// Help that said something unclear or untrue for the command showing it.
@Suite struct HelpWordingTests {
    static func help(_ command: any ParsableCommand.Type) -> String {
        DistillCommand.helpMessage(for: command, columns: 1000)
    }

    /// The deepest nesting of parentheses in `text`.
    static func depth(_ text: String) -> Int {
        var depth = 0, deepest = 0
        for c in text {
            if c == "(" { depth += 1; deepest = max(deepest, depth) } else if c == ")" { depth -= 1 }
        }
        return deepest
    }

    @Test func modelAndInitSayWhatTheyMean() {
        let run = Self.help(DistillCommand.Run.self)
        let model = run.split(separator: "\n").first { $0.contains("The model trained on the synthetic images") }.map(String.init) ?? ""
        #expect(Self.depth(model) == 1, "\(model)")
        #expect(!run.contains("normal/pixels"))
        #expect(run.contains("noise (standard normal noise divided by the number of pixels"))
    }

    @Test func checkStepsMatchesChecksDefaultStart() {
        let check = Self.help(DistillCommand.Check.self)
        #expect(!check.contains("at the noise start"))
        #expect(check.contains("with --init noise and 0 steps the images are nearly zero"))
    }

    /// The shared DATA options do not speak of another command's work.
    @Test func dataOptionsFitEveryCommand() {
        for command in [DistillCommand.Check.self, DistillCommand.Bench.self, DistillCommand.Convert.self] as [any ParsableCommand.Type] {
            let help = Self.help(command)
            #expect(!help.contains("eval --network"), "\(command)")
            #expect(!help.contains("recorded in metrics.json"), "\(command)")
        }
        #expect(Self.help(DistillCommand.Eval.self).contains("on `--threads` threads") || Self.help(DistillCommand.Eval.self).contains("on --threads threads"))
    }

    /// run's --baselines is a flag, sweep's takes on|off: each help says so.
    @Test func baselinesSayFlagOrValue() {
        #expect(Self.help(DistillCommand.Run.self).contains("--baselines               A flag (sweep's --baselines takes on or off)")
                || Self.help(DistillCommand.Run.self).contains("A flag (sweep's --baselines takes on or off)"))
        #expect(Self.help(DistillCommand.Sweep.self).contains("On or off, a value unlike run's flag --baselines"))
    }

    /// Every USAGE line fits an 80-column terminal (convert's was 136 characters).
    @Test func usageLinesFit() {
        for command in HelpTests.commands {
            let help = DistillCommand.helpMessage(for: command, columns: 80)
            let usage = help.split(separator: "\n").first { $0.hasPrefix("USAGE:") }.map(String.init) ?? ""
            #expect(!usage.isEmpty && usage.count <= 80, "\(command): \(usage)")
        }
    }
}
