import Foundation
import DistillRun

/// Runs a DistillRun call inside a command: its `RunError` becomes the command's
/// one-line `CLIError`.
func runStep<T>(_ body: () throws(RunError) -> T) throws(CLIError) -> T {
    do { return try body() } catch { throw CLIError(error.description) }
}

/// The command line of this process, quoted for a POSIX shell.
var quotedCommandLine: String {
    CommandLine.arguments.map { argument in
        argument.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+".contains($0) }) && !argument.isEmpty
            ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}
