import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a signal that must end the process at once from cutting a set of
/// output files in half: while a set is being written (`OutputFile.write`),
/// the exit waits until the set is complete.
///
/// A signal handler calls `exitNowOrAfterWrites(status:)` (async-signal-safe:
/// atomics and `_exit` only); writers wrap their work in `deferringExit`.
public enum ExitDeferral {
    /// Writes in progress (nested sections count once each).
    static let writes = Atomic<Int>(0)
    /// Work that must finish before an exit (e.g. a checkpoint a signal asked for).
    static let pending = Atomic<Int>(0)
    /// The exit status asked for by a signal, or 0.
    static let requested = Atomic<Int32>(0)

    /// Ends the process with `status` now if no write is in progress, else as
    /// soon as the writes in progress (and pending work) are done.
    /// Async-signal-safe.
    public static func exitNowOrAfterWrites(status: Int32) {
        requested.store(status, ordering: .sequentiallyConsistent)
        if writes.load(ordering: .sequentiallyConsistent) == 0 && pending.load(ordering: .sequentiallyConsistent) == 0 {
            _exit(status)
        }
    }

    /// Runs `body` (a write of a set of files) so that a requested exit waits
    /// for it; exits right after it if one was requested meanwhile. A write
    /// that would start after an exit was requested does not start, unless
    /// pending work (`beginPending`) is still to finish: that work (the
    /// checkpoint a first signal asked for) may be this very write.
    public static func deferringExit<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        writes.add(1, ordering: .sequentiallyConsistent)
        let status = requested.load(ordering: .sequentiallyConsistent)
        if status != 0 && pending.load(ordering: .sequentiallyConsistent) == 0 { finish(); _exit(status) }
        defer { finish() }
        return try body()
    }

    /// Marks work (e.g. a checkpoint being prepared on another thread) that an
    /// exit must wait for; `endPending()` ends it.
    public static func beginPending() { pending.add(1, ordering: .sequentiallyConsistent) }

    /// Ends work marked by `beginPending()`; exits if an exit was requested and nothing else is in progress.
    public static func endPending() {
        pending.subtract(1, ordering: .sequentiallyConsistent)
        exitIfRequestedAndIdle()
    }

    private static func finish() {
        writes.subtract(1, ordering: .sequentiallyConsistent)
        exitIfRequestedAndIdle()
    }

    private static func exitIfRequestedAndIdle() {
        let status = requested.load(ordering: .sequentiallyConsistent)
        if status != 0 && writes.load(ordering: .sequentiallyConsistent) == 0 && pending.load(ordering: .sequentiallyConsistent) == 0 {
            _exit(status)
        }
    }
}
