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

/// Runs `body(part)` for every part in `0..<parts`, each on its own worker thread.
func parallelParts(_ parts: Int, _ body: @Sendable (Int) -> Void) {
    if parts == 1 { body(0); return }
    DispatchQueue.concurrentPerform(iterations: parts, execute: body)
}

/// Sums with sixteen independent partial sums (so that the loop vectorises; the
/// order is fixed, so the result is deterministic).
@inline(__always)
func vectorSum<S: NetworkScalar>(_ x: UnsafePointer<S>, count: Int) -> S {
    var acc = SIMD16<S>()
    let whole = count - count % 16
    var i = 0
    while i < whole {
        acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<S>.self)
        i += 16
    }
    var s = acc.sum()
    while i < count { s += x[i]; i += 1 }
    return s
}

/// `Σ x_i y_i` with sixteen partial sums.
@inline(__always)
func vectorDot<S: NetworkScalar>(_ x: UnsafePointer<S>, _ y: UnsafePointer<S>, count: Int) -> S {
    var acc = SIMD16<S>()
    let whole = count - count % 16
    var i = 0
    while i < whole {
        acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<S>.self) * UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<S>.self)
        i += 16
    }
    var s = acc.sum()
    while i < count { s += x[i] * y[i]; i += 1 }
    return s
}

/// `Σ (x_i - c)²` with sixteen partial sums.
@inline(__always)
func vectorSquaredDeviation<S: NetworkScalar>(_ x: UnsafePointer<S>, from c: S, count: Int) -> S {
    var acc = SIMD16<S>()
    let centre = SIMD16<S>(repeating: c)
    let whole = count - count % 16
    var i = 0
    while i < whole {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<S>.self) - centre
        acc += d * d
        i += 16
    }
    var s = acc.sum()
    while i < count { s += (x[i] - c) * (x[i] - c); i += 1 }
    return s
}
