import ArgumentParser
import DistillRun
import DistillIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error the command reports as one line on stderr before exiting with status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ error: any Error) {
        // A CLIError passed through a `catch` keeps its one "error: " prefix.
        description = (error as? CLIError)?.description ?? "error: " + String(describing: error)
    }

    init(_ message: String) {
        description = "error: " + message
    }
}

/// Runs a command's body; a `CLIError` becomes its one line on stderr and exit status 1.
func reportingFailure(_ body: () throws(CLIError) -> Void) throws {
    do {
        try body()
    } catch {
        printError(error.description)
        throw ExitCode.failure
    }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Wall-clock seconds since creation (monotonic).
struct Stopwatch {
    private let start = Stopwatch.now()

    var seconds: Double { Stopwatch.now() - start }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// `x` with `digits` digits after the point (`NumberText.fixed`: total over
/// every Double; 1e15 and above in scientific notation).
func format(_ x: Double, _ digits: Int) -> String {
    NumberText.fixed(x, digits: digits)
}

/// `x` in scientific notation with two decimals, e.g. `3.14e-07`
/// (`NumberText.scientific`: total over every Double).
func scientific(_ x: Double) -> String {
    NumberText.scientific(x, digits: 2)
}

/// The median of `values` (0 when empty).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// `n` and `word`, singular for 1 and plural otherwise ("1 epoch", "2 epochs",
/// "0 epochs"); `plural` for a word whose plural is not `word` + "s".
func counted(_ n: Int, _ word: String, plural: String? = nil) -> String {
    "\(n) " + (n == 1 ? word : plural ?? word + "s")
}
