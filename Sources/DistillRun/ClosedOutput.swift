#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Standard output closed under the run (`distill run | head`): SIGPIPE is
/// ignored (`installStopHandler`), so a write to the closed pipe fails with
/// EPIPE instead of killing the process silently; the run then stops after its
/// step as for SIGTERM (`StopOnSignal`), leaving its outputs and a checkpoint.
/// A sweep also asks before each size after the first, and stops there.
public enum ClosedOutput {
    /// Whether a write to standard output has failed (its stream's error flag,
    /// which stays set: a closed pipe, a full disk).
    public static var failed: Bool { ferror(stdout) != 0 }
}
