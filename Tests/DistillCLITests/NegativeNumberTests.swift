import ArgumentParser
import Testing
@testable import DistillCLI

/// A negative number given to a numeric option gets the option's own one-line
/// message (its range, or the value named as invalid) whether it is written
/// `--batch -5` or `--batch=-5`: the parser reads the word after a numeric option
/// as its value even when it starts with a dash, instead of taking `-5` for an
/// option and saying the value is missing. Each option is parsed in its own
/// option group or command (parsing a whole command costs up to half a second).
@Suite struct NegativeNumberTests {
    /// The message `T` gives for `arguments`, or "(parsed)".
    static func message<T: ParsableArguments>(_ type: T.Type, _ arguments: [String]) -> String {
        do {
            _ = try T.parse(arguments)
            return "(parsed)"
        } catch {
            return T.message(for: error)
        }
    }

    /// `option -5` and `option=-5` after `arguments`, parsed by `T`: the same one
    /// line, naming the value, and not "Missing value".
    static func check<T: ParsableArguments>(_ type: T.Type, _ options: [String], after arguments: [String] = []) {
        for option in options {
            let spaced = message(T.self, arguments + [option, "-5"]), joined = message(T.self, arguments + [option + "=-5"])
            #expect(spaced == joined, "\(T.self) \(option)")
            #expect(!spaced.contains("Missing value") && spaced.contains("-5") && !spaced.contains("\n"), "\(T.self) \(option) -5: \(spaced)")
        }
    }

    @Test func everyNumericOptionReadsANegativeNumberAsItsValue() {
        Self.check(DataOptions.self, ["--test-fraction", "--split-seed", "--threads"])
        Self.check(ModelOptions.self, ["--l2", "--unroll-steps", "--depth", "--weight-variance", "--bias-variance",
                                       "--inner-tolerance", "--linear-solve-tolerance"])
        Self.check(DistillOptions.self, ["--steps", "--learning-rate", "--seed", "--label-learning-rate", "--l2-learning-rate",
                                         "--pull", "--batch"])
        Self.check(DisplayOptions.self, ["--eval-every", "--snapshot-every"])
        Self.check(DistillCommand.Run.self, ["--images-per-class", "--checkpoint-every", "--stop-after-step", "--zoom"])
        Self.check(DistillCommand.Sweep.self, ["--images-per-class", "--target-accuracy"])
        Self.check(NetworkOptions.self, ["--seeds", "--epochs"], after: ["--network", "mlp"])
        Self.check(EvalNetworkOptions.self, ["--width", "--depth"], after: ["--network", "mlp"])
        Self.check(EvalNetworkOptions.self, ["--images-per-class", "--seed"], after: ["--network", "mlp", "--baseline", "kmeans"])
        Self.check(DistillCommand.Eval.self, ["--l2"], after: ["--distilled", "set"])
        Self.check(DistillCommand.Check.self, ["--images-per-class", "--seed", "--coordinates", "--steps", "--l2", "--unroll-steps",
                                               "--repeats"])
        Self.check(DistillCommand.Bench.self, ["--images-per-class", "--repetitions"])
    }

    /// A value that is missing is still named: `--steps --quiet` says which word it read.
    @Test func anOptionNameInPlaceOfAValueIsNamed() {
        let text = Self.message(DistillCommand.Run.self, ["--steps", "--quiet"])
        #expect(text.contains("--quiet") && text.contains("--steps") && !text.contains("\n"), "\(text)")
    }
}
