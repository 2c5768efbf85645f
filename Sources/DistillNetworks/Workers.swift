import Dispatch

/// A pointer handed to worker threads; each part writes only its own range.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

/// Runs `body(range)` over `0..<count` split into at most `threads` contiguous
/// ranges (fixed by `count` and `threads` alone, so any reduction a caller does
/// per range and then in range order is deterministic).
func parallelRanges(_ count: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let parts = max(1, min(threads, count))
    if parts == 1 { if count > 0 { body(0..<count) }; return }
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        body((count * part / parts)..<(count * (part + 1) / parts))
    }
}
