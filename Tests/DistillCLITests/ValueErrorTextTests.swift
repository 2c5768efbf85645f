import Foundation
import Testing
@testable import DistillCLI

/// A value ArgumentParser cannot read is reported as what was expected versus
/// what was found ("error: --seed: expected a non-negative integer, found
/// '-1'"), not as "The value '-1' is invalid for '--seed <seed>'", and a list
/// of choices says "or", not "and".
@Suite struct ValueErrorTextTests {
    static let cases: [(arguments: [String], line: String)] = [
        (["--images-per-class", "abc"], "error: --images-per-class: expected an integer, found 'abc'"),
        (["run", "--images-per-class", "99999999999999999999"], "error: --images-per-class: expected an integer up to 9223372036854775807, found '99999999999999999999'"),
        (["run", "--seed", "-1"], "error: --seed: expected a non-negative integer, found '-1'"),
        (["run", "--seed", "99999999999999999999"], "error: --seed: expected a non-negative integer up to 18446744073709551615, found '99999999999999999999'"),
        (["sweep", "--images-per-class", "1,,2"], "error: --images-per-class: expected a comma-separated list of integers (such as 1,2,5), found '1,,2'"),
        (["check", "--unroll-steps", "10,x"], "error: --unroll-steps: expected a comma-separated list of integers (such as 1,2,5), found '10,x'"),
        (["run", "--steps", "many"], "error: --steps: expected an integer, found 'many'"),
        (["run", "--learning-rate", "fast"], "error: --learning-rate: expected a number, found 'fast'"),
        (["run", "--pixel-range", "x"], "error: --pixel-range: expected one of none or unit, found 'x'"),
        (["run", "--init", "x"], "error: --init: expected one of noise, real or mean, found 'x'"),
        (["run", "--learn-labels", "yes"], "error: --learn-labels: expected one of on or off, found 'yes'"),
        (["eval", "--distilled", "x", "--network", "foo"], "error: --network: expected one of mlp, convnet or ntk-mlp, found 'foo'"),
        (["bench", "--threads", "two"], "error: --threads: expected an integer, found 'two'"),
    ]

    @Test(arguments: cases.indices)
    func anUnreadableValueSaysWhatWasExpected(index: Int) throws {
        let (arguments, line) = Self.cases[index]
        let result = try distillCommand(arguments + ["--data", "/nonexistent-distill-data"])
        #expect(result.status == 1, "\(arguments)")
        #expect(result.stderr == line + "\n", "\(arguments)")
    }

    /// Every option of every command that takes a value: an unreadable one is
    /// never ArgumentParser's "The value ... is invalid" (the tables of
    /// `ValueErrorText` cover every numeric option).
    @Test func everyOptionIsCovered() throws {
        for command in ["run", "sweep", "eval", "check", "bench", "convert"] {
            let help = try distillCommand([command, "--help"]).stdout
            let options = Set(help.split(separator: "\n").compactMap { line -> String? in
                let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
                guard words.count >= 2, words[0].hasPrefix("--"), words[1].hasPrefix("<") else { return nil }
                return String(words[0])
            })
            #expect(options.count > 3, "\(command): \(help)")
            for option in options.sorted() {
                let result = try distillCommand([command, option, "not-a-value!", "--data", "/nonexistent-distill-data"])
                #expect(!result.stderr.contains("is invalid for"), "\(command) \(option): \(result.stderr)")
            }
        }
    }

    @Test func otherMessagesAreLeftAlone() {
        #expect(ValueErrorText.rewritten("Unknown option '--x'", command: "run") == "Unknown option '--x'")
        #expect(ValueErrorText.rewritten("The value 'x' is invalid for '--no-such <v>'", command: "run") == "The value 'x' is invalid for '--no-such <v>'")
    }
}
