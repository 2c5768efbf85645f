import Foundation
import DistillRun

/// Runs a DistillRun call inside a command: its `RunError` becomes the command's
/// one-line `CLIError`.
func runStep<T>(_ body: () throws(RunError) -> T) throws(CLIError) -> T {
    do { return try body() } catch { throw CLIError(error.description) }
}

/// The command line of this process as metrics.json and checkpoints record it
/// (`recordedCommandLine(_:)`).
var quotedCommandLine: String { recordedCommandLine(CommandLine.arguments) }

/// `arguments` (`arguments[0]` the program) quoted for a POSIX shell, the
/// program by the last component of its path: `distill run --steps 5`, also
/// when it was started as `.build/debug/distill` (as `swift run` does) or by an
/// absolute path, so that the recorded command can be typed again.
func recordedCommandLine(_ arguments: [String]) -> String {
    var arguments = arguments
    if let program = arguments.first, let name = program.split(separator: "/").last { arguments[0] = String(name) }
    return arguments.map { argument in
        argument.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+".contains($0) }) && !argument.isEmpty
            ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}
