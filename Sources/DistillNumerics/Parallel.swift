import Dispatch

/// Fork-join helpers over a fixed number of parts. Results come back in part
/// order, so a reduction over them is deterministic for a given part count.
public enum Parallel {
    /// Runs `body(part)` for every part in `0..<parts` on Dispatch's worker
    /// threads and returns the results in part order.
    public static func map<T: Sendable>(parts: Int, _ body: @Sendable (Int) -> T) -> [T] {
        if parts <= 1 { return parts == 1 ? [body(0)] : [] }
        let slots = Slots<T>(count: parts)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            slots.store(body(part), at: part)
        }
        return slots.collect()
    }

    /// Splits `0..<count` into `parts` contiguous ranges of near-equal size.
    public static func chunks(of count: Int, parts: Int) -> [Range<Int>] {
        let parts = max(1, min(parts, max(1, count)))
        return (0..<parts).map { part in
            (count * part / parts)..<(count * (part + 1) / parts)
        }
    }

    /// Splits the rows `0..<count` of a lower triangle (row `i` holding `i + 1`
    /// entries) into `parts` contiguous ranges of near-equal area: boundaries at
    /// `count · √(t / parts)`. Empty ranges are dropped.
    public static func triangularChunks(of count: Int, parts: Int) -> [Range<Int>] {
        let parts = max(1, min(parts, max(1, count)))
        var bounds = [0]
        for part in 1...parts {
            let bound = part == parts ? count : Int((Double(count) * (Double(part) / Double(parts)).squareRoot()).rounded())
            bounds.append(min(count, max(bounds[bounds.count - 1], bound)))
        }
        return (0..<parts).map { bounds[$0]..<bounds[$0 + 1] }.filter { !$0.isEmpty }
    }

    /// Splits the rows `rows` of a lower triangle (row `i` holding `i + 1`
    /// entries) into `parts` contiguous ranges of near-equal area: boundaries at
    /// `√(a² + t (b² - a²) / parts)` for `rows = a..<b`. Empty ranges are dropped.
    public static func triangularChunks(of rows: Range<Int>, parts: Int) -> [Range<Int>] {
        let parts = max(1, min(parts, max(1, rows.count)))
        let a = Double(rows.lowerBound), b = Double(rows.upperBound)
        var bounds = [rows.lowerBound]
        for part in 1...parts {
            let bound = part == parts ? rows.upperBound
                : Int((a * a + Double(part) / Double(parts) * (b * b - a * a)).squareRoot().rounded())
            bounds.append(min(rows.upperBound, max(bounds[bounds.count - 1], bound)))
        }
        return (0..<parts).map { bounds[$0]..<bounds[$0 + 1] }.filter { !$0.isEmpty }
    }
}

/// One write-once slot per part; each part writes only its own slot.
private final class Slots<T>: @unchecked Sendable {
    private let buffer: UnsafeMutablePointer<T>
    private let count: Int

    init(count: Int) {
        self.count = count
        buffer = .allocate(capacity: count)
    }

    func store(_ value: T, at index: Int) { (buffer + index).initialize(to: value) }

    /// Moves the results out; every slot must have been stored.
    func collect() -> [T] {
        let out = Array(UnsafeBufferPointer(start: buffer, count: count))
        buffer.deinitialize(count: count)
        return out
    }

    deinit { buffer.deallocate() }
}
