/// ArgumentParser's sentence for an option value it cannot read ("The value
/// '-1' is invalid for '--seed <seed>'", "... Please provide one of 'none' and
/// 'unit'.") rewritten in the project's form, what was expected versus what was
/// found: "--seed: expected a non-negative integer, found '-1'".
///
/// ArgumentParser does not say which type an option reads, so the numeric
/// options are listed here by name (`ValueErrorTextTests` checks that every
/// option of every command is covered).
enum ValueErrorText {
    /// Options read as `Double`.
    static let numbers: Set<String> = [
        "--l2", "--learning-rate", "--label-learning-rate", "--l2-learning-rate", "--pull", "--weight-variance",
        "--bias-variance", "--inner-tolerance", "--linear-solve-tolerance", "--test-fraction", "--target-accuracy",
    ]
    /// Options read as `UInt64`.
    static let nonNegativeIntegers: Set<String> = ["--seed", "--split-seed"]
    /// Options read as a comma-separated `SizeList`, by command.
    static let lists: Set<String> = ["sweep --images-per-class", "check --unroll-steps"]

    /// `message` rewritten when it is ArgumentParser's unreadable-value sentence
    /// for an option; `message` itself otherwise. `command` is the subcommand
    /// given (nil or an option for the default one, `run`).
    static func rewritten(_ message: String, command: String?) -> String {
        let opening = "The value '", middle = "' is invalid for '"
        guard message.hasPrefix(opening), let split = message.range(of: middle, options: .backwards) else { return message }
        let value = String(message[message.index(message.startIndex, offsetBy: opening.count)..<split.lowerBound])
        let rest = message[split.upperBound...]
        guard rest.hasPrefix("--"), let end = rest.firstIndex(where: { $0 == " " || $0 == "'" }) else { return message }
        let option = String(rest[..<end])
        guard let close = rest.range(of: "'", range: end..<rest.endIndex) else { return message }
        let tail = rest[close.upperBound...]
        let expected: String
        if tail.hasPrefix(". Please provide one of") {
            // The values ArgumentParser lists, quoted, or one a line after "the following:".
            let listed = tail.hasSuffix(".") ? quoted(in: String(tail)) : tail.split(separator: "\n").dropFirst()
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
            guard !listed.isEmpty else { return message }
            expected = "one of " + alternatives(listed)
        } else if tail.hasPrefix(": ") {
            expected = String(tail.dropFirst(2))
        } else if let kind = kind(of: option, command: command, value: value) {
            expected = kind
        } else {
            return message
        }
        return "\(option): expected \(expected), found '\(value)'"
    }

    /// `message` ("--pull: expected zero or a positive number, found '-1.0'",
    /// a `validate()`'s refusal of a value it read) with the value as the user
    /// typed it in `arguments` ("found '-1'"), not as Swift prints the number
    /// it read; `message` itself when it names no option's value or
    /// `arguments` does not give the option (`--x value` or `--x=value`, the
    /// last one given, as ArgumentParser takes).
    static func withRawValue(_ message: String, arguments: [String]) -> String {
        guard message.hasPrefix("--"), let colon = message.range(of: ": expected "),
              let found = message.range(of: ", found '", range: colon.upperBound..<message.endIndex),
              let close = message.range(of: "'", range: found.upperBound..<message.endIndex) else { return message }
        let option = String(message[..<colon.lowerBound])
        var raw: String?
        for (i, argument) in arguments.enumerated() {
            if argument == option, i + 1 < arguments.count { raw = arguments[i + 1] }
            if argument.hasPrefix(option + "=") { raw = String(argument.dropFirst(option.count + 1)) }
        }
        guard let raw else { return message }
        return String(message[..<found.upperBound]) + raw + message[close.lowerBound...]
    }

    /// `message` in the form of every `distill` error line: its opening word in
    /// lower case when it is a capitalised word (ArgumentParser's "Unknown option
    /// '--stepz'. Did you mean '--steps'?", "Missing value for ...", a sentence of
    /// ours), not a name in capitals (CIFAR, PNG); and ArgumentParser's
    /// suggestion joined as ours are: "unknown option '--stepz'; did you mean '--steps'?".
    static func lowercasedOpening(_ message: String) -> String {
        var text = message.replacingOccurrences(of: "'. Did you mean '", with: "'; did you mean '")
        let letters = Array(text.prefix(2))
        if letters.count == 2, letters[0].isUppercase, letters[1].isLowercase {
            text = text.prefix(1).lowercased() + text.dropFirst()
        }
        return text
    }

    /// What `option` of `command` reads, said for a person; nil for an option
    /// this table does not know.
    static func kind(of option: String, command: String?, value: String) -> String? {
        let subcommand = command.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "run"
        let digits = !value.isEmpty && value.allSatisfy { $0.isASCII && $0.isNumber }
        if lists.contains("\(subcommand) \(option)") { return "a comma-separated list of integers (such as 1,2,5)" }
        if numbers.contains(option) { return "a number" }
        if nonNegativeIntegers.contains(option) {
            return digits ? "a non-negative integer up to \(UInt64.max)" : "a non-negative integer"
        }
        if integers.contains(option) {
            let negativeDigits = value.hasPrefix("-") && value.dropFirst().allSatisfy { $0.isASCII && $0.isNumber } && value.count > 1
            return digits ? "an integer up to \(Int.max)" : negativeDigits ? "an integer from \(Int.min)" : "an integer"
        }
        return nil
    }

    /// Options read as `Int`.
    static let integers: Set<String> = [
        "--steps", "--images-per-class", "--checkpoint-every", "--stop-after-step", "--zoom", "--unroll-steps", "--depth",
        "--batch", "--eval-every", "--snapshot-every", "--threads", "--repetitions", "--coordinates", "--repeats",
        "--seeds", "--epochs", "--width",
    ]

    /// The strings between single quotes in `text`.
    static func quoted(in text: String) -> [String] {
        text.split(separator: "'", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// "a", "a or b", "a, b or c".
    static func alternatives(_ values: [String]) -> String {
        values.count <= 1 ? values.joined() : values.dropLast().joined(separator: ", ") + " or " + (values.last ?? "")
    }
}
