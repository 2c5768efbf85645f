import Distill
import DistillImages
import DistillNumerics
import DistillRun
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A single progress line redrawn in place on a terminal: a bar, step k/N,
/// elapsed time, ETA, the current training loss, the inner iterations (and
/// the latest test accuracy when `--eval-every` measures it). It is redrawn
/// at most every `interval` seconds, and always at the last step; the final
/// line is kept, followed by a newline, when the run finishes.
final class LiveProgressLine: DistillationObserver {
    /// Writes text as it is (no newline added).
    let write: (String) -> Void
    /// Seconds from a monotonic clock.
    let now: () -> Double
    let columns: Int
    let interval: Double
    let probe: TestAccuracyProbe?

    private var start = 0.0
    private var firstStep = 0
    private var lastDraw = -Double.infinity
    private var drawn = false

    /// The escape sequence that returns to the start of the line and clears it.
    static let clearLine = "\r\u{1B}[2K"

    init(write: @escaping (String) -> Void, now: @escaping () -> Double = Stopwatch.now,
         columns: Int = terminalColumns(), interval: Double = 0.1, probe: TestAccuracyProbe? = nil) {
        self.write = write
        self.now = now
        self.columns = columns
        self.interval = interval
        self.probe = probe
    }

    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        write(startLine(distiller, dataset: dataset) + "\n")
        start = now()
        firstStep = distiller.step
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        let steps = distiller.configuration.steps
        if let warning = toleranceWarning(record) {
            // The warning goes to stderr on its own line; the progress line is redrawn after it.
            if drawn { write(Self.clearLine) }
            printError(warning)
            lastDraw = -.infinity
        }
        let t = now()
        if t - lastDraw >= interval || record.step >= steps {
            lastDraw = t
            drawn = true
            write(Self.clearLine + line(record, steps: steps, elapsed: t - start))
        }
        return .proceed
    }

    func finished(_ outcome: DistillationOutcome) {
        if drawn { write("\n") }
    }

    /// The progress line for `record` of `steps`, `elapsed` seconds after the
    /// start, cut to the terminal's width (so that it never wraps).
    func line(_ record: StepRecord, steps: Int, elapsed: Double) -> String {
        let fraction = min(1, max(0, Double(record.step) / Double(max(1, steps))))
        let barWidth = 24
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
        let done = record.step - firstStep
        let eta = done > 0 ? elapsed / Double(done) * Double(max(0, steps - record.step)) : 0
        var text = "\(bar) \(record.step)/\(steps)  \(duration(elapsed))  ETA \(duration(eta))"
            + "  loss \(format(record.trainLoss, 4))  inner \(record.innerIterations) it"
        if let latest = probe?.points.last {
            text += "  test \(format(100 * latest.accuracy, 2))% (step \(latest.step))"
        }
        return String(text.prefix(max(1, columns - 1)))
    }
}

/// The line that opens a run's progress output.
func startLine(_ distiller: Distiller, dataset: LoadedDataset) -> String {
    let c = distiller.configuration
    return "Distilling \(dataset.train.count) training images of \(dataset.shape.height)x\(dataset.shape.width) pixels, \(dataset.classes) classes, into \(c.imagesPerClass) per class (\(c.steps) steps, \(c.threads) threads); data loaded in \(format(dataset.seconds, 2)) s."
}

/// A warning for a step whose inner solve or linear solve missed its tolerance.
func toleranceWarning(_ record: StepRecord) -> String? {
    guard !record.innerConverged || !record.linearSolveConverged else { return nil }
    return "warning: step \(record.step): " + (record.innerConverged ? "" : "inner solve missed its tolerance (|F| = \(scientific(record.innerGradientNorm))) ")
        + (record.linearSolveConverged ? "" : "the linear solve missed its tolerance (residual \(scientific(record.linearSolveResidual)))")
}

/// `seconds` as `12.3 s`, `4m05s` or `1h02m`.
func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    if seconds < 60 { return format(seconds, 1) + " s" }
    let whole = Int(seconds.rounded())
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    if whole < 3600 { return "\(whole / 60)m\(two(whole % 60))s" }
    return "\(whole / 3600)h\(two(whole / 60 % 60))m"
}

/// The width of the terminal on standard output (80 if it cannot be told).
func terminalColumns() -> Int {
    var size = winsize()
    guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
}

/// One JSON object per step on its own line, for programs to read:
/// `step, steps, train_loss, train_accuracy, objective, l2, inner_iterations,
/// inner_gradient_norm, linear_solve_iterations, linear_solve_residual, seconds`, plus
/// `test_accuracy` and `test_loss` on the steps where `--eval-every` measured
/// them. Non-finite numbers are written as `null`.
final class JSONStepLines: DistillationObserver {
    let write: (String) -> Void
    let probe: TestAccuracyProbe?

    init(write: @escaping (String) -> Void, probe: TestAccuracyProbe? = nil) {
        self.write = write
        self.probe = probe
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        if let warning = toleranceWarning(record) { printError(warning) }
        var fields: [(String, String)] = [
            ("step", "\(record.step)"), ("steps", "\(distiller.configuration.steps)"),
            ("train_loss", Self.number(record.trainLoss)), ("train_accuracy", Self.number(record.trainAccuracy)),
            ("objective", Self.number(record.objective)), ("l2", Self.number(record.l2)),
            ("inner_iterations", "\(record.innerIterations)"), ("inner_gradient_norm", Self.number(record.innerGradientNorm)),
            ("linear_solve_iterations", "\(record.linearSolveIterations)"), ("linear_solve_residual", Self.number(record.linearSolveResidual)),
            ("seconds", Self.number(record.seconds)),
        ]
        if let latest = probe?.points.last, latest.step == record.step {
            fields += [("test_accuracy", Self.number(latest.accuracy)), ("test_loss", Self.number(latest.loss))]
        }
        write("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n")
        return .proceed
    }

    /// A JSON number (Swift's shortest round-tripping form), or `null`.
    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
}

/// Measures the test accuracy every `every` steps (and before the first):
/// trains the inner model on a copy of the distiller, so the run itself is
/// unchanged, and evaluates it on the test set. Off by default; when on, each
/// measurement costs one inner solve (warm started) and one test pass.
final class TestAccuracyProbe: DistillationObserver {
    struct Point: Equatable {
        var step: Int
        var accuracy: Double
        var loss: Double
    }

    let every: Int
    let test: LabeledImages
    /// Called with a line for every measurement (nil: silent).
    let log: ((String) -> Void)?
    private(set) var points: [Point] = []
    /// Wall time spent measuring, in seconds.
    private(set) var seconds = 0.0

    init(every: Int, test: LabeledImages, log: ((String) -> Void)? = nil) {
        self.every = every
        self.test = test
        self.log = log
    }

    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        measure(distiller)
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        if record.step % every == 0 { measure(distiller) }
        return .proceed
    }

    /// The final model's figures (measured by the run itself) close the curve.
    func finished(_ outcome: DistillationOutcome) {
        let m = outcome.metrics
        if points.last?.step != m.steps { points.append(Point(step: m.steps, accuracy: m.testAccuracy, loss: m.testLoss)) }
    }

    private func measure(_ distiller: Distiller) {
        let clock = Stopwatch()
        var copy = distiller
        let inner = copy.solveInner()
        let evaluation = copy.evaluate(inner, on: test)
        points.append(Point(step: distiller.step, accuracy: evaluation.accuracy, loss: evaluation.loss))
        seconds += clock.seconds
        log?("step \(distiller.step)  test accuracy \(format(100 * evaluation.accuracy, 2))%  test loss \(format(evaluation.loss, 4))")
    }
}
