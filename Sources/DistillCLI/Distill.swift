import ArgumentParser
import DistillRun

@main
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Condense a labelled image set into a few synthetic images by implicit differentiation.",
        discussion: """
            Distill learns a tiny synthetic training set: an inner model trained to \
            optimality on it does well on the whole real training set. The inner model \
            is chosen with `--model`: logistic (a linear softmax classifier, the default), \
            ridge (linear ridge regression), kernel-ridge (kernel ridge regression), nngp \
            or ntk (kernel ridge regression with the NNGP or NTK kernel of a ReLU network). \
            The synthetic images are moved by the implicit gradient of the training-set loss \
            (implicit function theorem and one linear solve; the logistic model can also \
            unroll its inner steps). Datasets: MNIST-named IDX files, class folders of PNG \
            files, or CIFAR-10/100 binary files.

            Examples:
              distill --out out-first    # data/mnist, 1 image per class
              distill run --images-per-class 20 --out out-20
              distill run --data ~/datasets/fashion-mnist --out out-fashion
            """,
        version: DistillVersion.current,
        subcommands: [Run.self, Sweep.self, Eval.self, Check.self, Bench.self, Convert.self],
        defaultSubcommand: Run.self)

    /// First installs the handler that ends the process on SIGINT or SIGTERM
    /// with one line ("Stopped (SIGTERM) while starting; no output was
    /// written.") and status 130 or 143, so that a signal at any point after
    /// `main`'s first instructions gets it (what remains before `main` is the
    /// loading of the shared libraries: `tools/early-signal-timing.py`); `run`
    /// and `sweep` replace its line with their own activity, and the other
    /// commands give the signals back their starting dispositions once parsed.
    /// Sets standard output to line buffering before any command runs: printed
    /// to a pipe or a file, each line appears as the run goes instead of when
    /// the program exits (the C library buffers whole blocks when it is not a
    /// terminal). Then parses, validates and runs the command; an error it
    /// throws is reported as every error is (`exitReporting`).
    static func main() {
        SignalsBeforeRun.install(while: SignalsBeforeRun.starting)
        lineBufferStandardOutput()
        do {
            let arguments = Array(CommandLine.arguments.dropFirst())
            try refuseUnknownSubcommand(arguments)
            var command: any ParsableCommand
            do { command = try parseAsRoot(nil) } catch {
                // A mistyped option first, though a `validate()` refused the command before ArgumentParser saw it.
                if exitCode(for: error) != .success, !(error is ExitCode), !message(for: error).hasPrefix("Unknown option"),
                   let unknown = UnknownOptions.refusal(arguments) {
                    throw ValidationError(unknown)
                }
                throw error
            }
            if !(command is Run || command is Sweep) { SignalsBeforeRun.remove() }
            if let warning = (command as? any ReadsDataset)?.threadsWarning { printError(warning) }
            if let warning = TargetAccuracyText.warning((command as? Sweep)?.targetAccuracy) { printError(warning) }
            try command.run()
        } catch {
            exitReporting(error)
        }
    }

    /// Refuses a first argument that names no subcommand (`distill evl
    /// --distilled out`, `distill help nosuch`): ArgumentParser would take it for
    /// an argument of the default command `run` ("Unexpected argument 'swep'")
    /// and report the options after it instead, or print the top-level help. A
    /// first argument starting with "-" is an option of `run` (`distill
    /// --images-per-class 10`), which takes no positional argument.
    ///
    /// - Throws: `ValidationError` "unknown subcommand 'evl'; expected one of run,
    ///   sweep, eval, check, bench, convert; did you mean 'eval'?" (the question
    ///   when one name is within `closeNameDistance` edits of it, `closestName`).
    static func refuseUnknownSubcommand(_ arguments: [String]) throws {
        let names = configuration.subcommands.map { $0._commandName }
        var words = arguments[...]
        if words.first == "help" { words = words.dropFirst() }
        guard let first = words.first, !first.hasPrefix("-"), !names.contains(first) else { return }
        let suggestion = closestName(to: first, among: names).map { "; did you mean '\($0)'?" } ?? ""
        throw ValidationError("unknown subcommand '\(first)'; expected one of \(names.joined(separator: ", "))\(suggestion)")
    }

    /// The most edits (`editDistance`) a mistyped name may be from a real one for it to be suggested.
    static let closeNameDistance = 2

    /// The name of `names` fewest edits from `word` (the first of those), when it
    /// is within `closeNameDistance` edits and fewer than `word` has letters;
    /// else the first name that `word` starts with, or that starts with `word`
    /// of at least 2 letters (`evaluate`, `conv`); nil otherwise.
    static func closestName(to word: String, among names: [String]) -> String? {
        let word = word.lowercased()
        let scored = names.map { (name: $0, distance: editDistance(word, $0)) }
        if let best = scored.min(by: { $0.distance < $1.distance }),
           best.distance <= closeNameDistance, best.distance < word.count { return best.name }
        return names.first { word.hasPrefix($0) } ?? names.first { word.count >= 2 && $0.hasPrefix(word) }
    }

    /// The Levenshtein distance between `a` and `b`: the fewest insertions,
    /// deletions and substitutions of one character that turn `a` into `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        // previous[j]: the distance between the first i characters of a and the first j of b.
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// Ends the process for `error` thrown while parsing, validating or running
    /// a command. A bad option, whether ArgumentParser finds it (a value that is
    /// not a number, an unknown option), a `validate()` refuses it (`--batch -5`)
    /// or the command does once the data is loaded (`--batch 70000`), is one line
    /// on standard error, "error: <what was expected and found>", and status 1,
    /// as every other error (`CLIError`); ArgumentParser's own form ("Error:",
    /// usage lines, status 64) is not used. `--help` and `--version` print and
    /// exit 0; an `ExitCode` (a command's failure already reported, or 130/143
    /// after a signal) exits with its code.
    static func exitReporting(_ error: any Error) -> Never {
        if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
        printError(oneLineErrorMessage(error))
        exit(withError: ExitCode.failure)
    }

    /// The prefix of the error lines ArgumentParser itself would write
    /// (`exit(withError:)`, `fullMessage(for:)`): "error: ", as every error line
    /// of `distill`, instead of its "Error: ". `exitReporting` writes every
    /// error line itself; this keeps ArgumentParser's own exit path, should one
    /// be reached, in the same form.
    static var _errorPrefix: String { "error: " }

    /// The line `exitReporting` writes for `error` (not an `ExitCode`, help or version).
    static func oneLineErrorMessage(_ error: any Error, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> String {
        if let error = error as? CLIError { return error.description }
        let said = ValueErrorText.withRawValue(message(for: error), arguments: arguments)
        let message = ValueErrorText.rewritten(said, command: arguments.first).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        return "error: " + ValueErrorText.lowercasedOpening(message)
    }
}
