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
        // A value read but refused by a command's `validate()`: the same wording, the value as typed.
        (["run", "--model", "foo"], "error: --model: expected one of logistic, ridge, kernel-ridge, nngp or ntk, found 'foo'"),
        (["eval", "--distilled", "x", "--model", "foo"], "error: --model: expected one of logistic, ridge, kernel-ridge, nngp or ntk, found 'foo'"),
        (["eval", "--distilled", "x", "--network", "cnn"], "error: --network: expected one of mlp, convnet or ntk-mlp, found 'cnn'"),
        (["eval", "--distilled", "x", "--network", "mlp", "--labels", "x"], "error: --labels: expected one of soft or hard, found 'x'"),
        (["run", "--outer-loss", "x"], "error: --outer-loss: expected one of mse or cross-entropy, found 'x'"),
        (["run", "--log-format", "xml"], "error: --log-format: expected one of text or json, found 'xml'"),
        (["run", "--learning-rate", "0"], "error: --learning-rate: expected a positive number, found '0'"),
        (["run", "--learning-rate=0e0"], "error: --learning-rate: expected a positive number, found '0e0'"),
        (["run", "--pull", "-1"], "error: --pull: expected zero or a positive number, found '-1'"),
        (["run", "--l2", "1e-320"], "error: --l2: expected a positive normal number (at least 2.2250738585072014e-308), found '1e-320', a subnormal one"),
        (["sweep", "--target-accuracy", "150"], "error: --target-accuracy: expected a fraction in (0, 1] or a percentage in (1, 100], found '150'"),
        (["run", "--batch", "-5"], "error: --batch: expected at least 1, found '-5'"),
        (["run", "--eval-every", "0"], "error: --eval-every: expected at least 1, found '0'"),
        (["run", "--snapshot-every", "00"], "error: --snapshot-every: expected at least 1, found '00'"),
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

    @Test func theRawValueIsTheLastGiven() {
        let message = "--pull: expected zero or a positive number, found '-1.0'"
        #expect(ValueErrorText.withRawValue(message, arguments: ["--pull", "2", "--pull", "-1"]) == "--pull: expected zero or a positive number, found '-1'")
        #expect(ValueErrorText.withRawValue(message, arguments: ["--pull=-1.00"]) == "--pull: expected zero or a positive number, found '-1.00'")
        #expect(ValueErrorText.withRawValue(message, arguments: ["--steps", "3"]) == message)
    }

    @Test func otherMessagesAreLeftAlone() {
        #expect(ValueErrorText.rewritten("Unknown option '--x'", command: "run") == "Unknown option '--x'")
        #expect(ValueErrorText.rewritten("The value 'x' is invalid for '--no-such <v>'", command: "run") == "The value 'x' is invalid for '--no-such <v>'")
    }
}
