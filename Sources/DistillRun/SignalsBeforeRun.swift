import DistillIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Whether SIGINT was ignored when the process started: a shell ignores it in
/// the jobs it starts in the background without job control (`distill run &`
/// in a script), so that a Ctrl-C meant for the foreground does not reach them.
/// Distill then leaves SIGINT ignored for the whole process (the convention of
/// POSIX programs that catch it) and stops on SIGTERM only.
///
/// Read once, before the first handler is installed (`installStopHandler`).
let interruptIgnoredAtStart: Bool = {
    var current = sigaction()
    guard sigaction(SIGINT, nil, &current) == 0 else { return false }
    return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
}()

/// Installs `handler` for SIGTERM, and for SIGINT unless it was ignored at the
/// process's start (`interruptIgnoredAtStart`), then unblocks both: a parent may
/// have blocked them (the mask survives exec), and a blocked signal would never
/// reach the handler. Unblocking comes second, so that a signal already pending
/// at exec (sent while blocked) reaches the handler, not the default action.
///
/// SIGPIPE is ignored for the whole process: a write to a closed pipe then fails
/// with EPIPE (see `ClosedOutput`), instead of ending the process silently with
/// a folder holding only a checkpoint and a lock.
func installStopHandler(_ handler: @convention(c) (Int32) -> Void) {
    _ = interruptIgnoredAtStart
    signal(SIGPIPE, SIG_IGN)
    if !interruptIgnoredAtStart { signal(SIGINT, handler) }
    signal(SIGTERM, handler)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// Gives SIGINT and SIGTERM back their dispositions at the process's start:
/// the default action, or ignored for a SIGINT ignored then.
func restoreStartingSignalDispositions() {
    signal(SIGINT, interruptIgnoredAtStart ? SIG_IGN : SIG_DFL)
    signal(SIGTERM, SIG_DFL)
}

/// The lines written from the handler of `SignalsBeforeRun`, prepared beforehand
/// (the handler only calls write(2)): one for SIGINT, one for SIGTERM.
struct EarlySignalLines {
    let interrupt: UnsafeMutableBufferPointer<UInt8>
    let terminate: UnsafeMutableBufferPointer<UInt8>
}

/// The lines of the current activity (nil before `SignalsBeforeRun.install`).
nonisolated(unsafe) let earlySignalLines = Atomic<UnsafeMutablePointer<EarlySignalLines>?>(nil)
/// Whether a signal already ended the preparation (a second one, on another thread, writes nothing).
let earlySignalReceived = Atomic<Bool>(false)

/// Ends the process cleanly when SIGINT or SIGTERM comes before a run's steps
/// are guarded (`StopOnSignal`, which `DistillationSession.init` installs once
/// the dataset is loaded): while the checkpoint is read, the dataset loads or a
/// sweep checks its sizes. Nothing is written then, so there is nothing to keep:
/// the handler writes one line on standard error naming what was interrupted,
/// "Stopped (SIGTERM) while loading the dataset data/mnist; no output was
/// written.", and the process exits with status 128 + the signal (130 or 143,
/// as a run stopped later), once any set of files being written is complete
/// (`ExitDeferral`).
///
/// A SIGINT ignored at the process's start stays ignored (`interruptIgnoredAtStart`).
public enum SignalsBeforeRun {
    /// Installs the handler (again, if a `StopOnSignal` replaced it) with
    /// `activity`, what the process is doing, for its line: "loading the dataset data/mnist".
    public static func install(while activity: String) {
        func buffer(_ text: String) -> UnsafeMutableBufferPointer<UInt8> {
            let bytes = Array(text.utf8)
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
            _ = buffer.initialize(from: bytes)
            return buffer
        }
        let lines = UnsafeMutablePointer<EarlySignalLines>.allocate(capacity: 1)
        lines.initialize(to: EarlySignalLines(interrupt: buffer(line(signal: SIGINT, activity: activity) + "\n"),
                                              terminate: buffer(line(signal: SIGTERM, activity: activity) + "\n")))
        // An earlier activity's lines are not freed: a handler may still be reading them.
        earlySignalLines.store(lines, ordering: .sequentiallyConsistent)
        installStopHandler { received in
            if earlySignalReceived.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged,
               let lines = earlySignalLines.load(ordering: .sequentiallyConsistent) {
                let bytes = received == SIGINT ? lines.pointee.interrupt : lines.pointee.terminate
                _ = write(2, bytes.baseAddress, bytes.count)
            }
            ExitDeferral.exitNowOrAfterWrites(status: 128 + received)
        }
    }

    /// What the process is doing from the first instruction of `main` until a
    /// command installs its own activity (or `remove`s the handler), for the
    /// line "Stopped (SIGTERM) while starting; no output was written.".
    public static let starting = "starting"

    /// Gives SIGINT and SIGTERM back the dispositions they had when the process
    /// started (the default action, or ignored), for a command that does not
    /// stop on them with a line of its own once it has started (`eval`, `check`,
    /// `bench`, `convert`); SIGPIPE too, so that a closed pipe ends them as any
    /// Unix tool (`distill check | head`).
    public static func remove() {
        restoreStartingSignalDispositions()
        signal(SIGPIPE, SIG_DFL)
    }

    /// The line written when `signal` interrupts `activity`.
    public static func line(signal: Int32, activity: String) -> String {
        let reason = signal == SIGINT ? "Interrupted (SIGINT)" : signal == SIGTERM ? "Stopped (SIGTERM)" : "Stopped (signal \(signal))"
        return "\(reason) while \(activity); no output was written."
    }
}
