import ArgumentParser
import DistillRun
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error the command reports as one line on stderr before exiting with status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ error: any Error) {
        description = "error: " + String(describing: error)
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

/// `x` with `digits` digits after the point.
func format(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (abs(x) * scale).rounded() / scale
    var text = String(Int(rounded))
    if digits > 0 {
        let fraction = Int(((rounded - rounded.rounded(.down)) * scale).rounded())
        let digitsText = String(fraction)
        text += "." + String(repeating: "0", count: max(0, digits - digitsText.count)) + digitsText
    }
    return (x < 0 && rounded != 0 ? "-" : "") + text
}

/// `x` in scientific notation with two significant decimals, e.g. `3.14e-07`.
func scientific(_ x: Double) -> String {
    guard x.isFinite, x != 0 else { return x == 0 ? "0" : "\(x)" }
    var exponent = Int(log10(abs(x)).rounded(.down))
    var mantissa = x / pow(10, Double(exponent))
    if abs((mantissa * 100).rounded()) >= 1000 { mantissa /= 10; exponent += 1 }
    let sign = exponent < 0 ? "-" : "+"
    let e = abs(exponent)
    return format(mantissa, 2) + "e" + sign + (e < 10 ? "0" : "") + String(e)
}

/// The median of `values` (0 when empty).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
