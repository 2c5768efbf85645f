import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a run could not start or finish: one line naming the file or option and
/// what was expected versus found.
public struct RunError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ message: String) { description = message }

    /// Any error, by its description.
    public init(_ error: any Error) { description = String(describing: error) }
}

/// Wall-clock seconds since creation (monotonic).
public struct Stopwatch: Sendable {
    private let start = Stopwatch.now()

    public init() {}

    public var seconds: Double { Stopwatch.now() - start }

    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// The median of `values` (0 when empty).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// `x` in C's `%.2e` notation (`3.14e-07`, `nan`, `inf`): total over every Double.
func scientificText(_ x: Double) -> String { String(format: "%.2e", x) }

/// Writes one line to standard error, unbuffered.
public func writeErrorLine(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
