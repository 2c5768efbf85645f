import Distill
import DistillIO
import DistillImages
import DistillNumerics
import DistillRun
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A single progress line redrawn in place on a terminal: a bar, step k/N,
/// elapsed time, ETA, the current training loss, the inner iterations and the
/// latest test accuracy. It always fits the terminal's width (asked again at
/// every redraw, so resizing works): the bar shrinks first, then whole fields
/// are dropped, least important first (`ProgressFields`); a field is never
/// cut. While the width stays, the bar and the fields shown never grow back
/// (the last line, without an ETA, keeps the run's bar). It is redrawn at most every `interval` seconds, and always at the last
/// step; the final line is kept, followed by a newline, when the run finishes.
final class LiveProgressLine: DistillationObserver {
    /// Writes text as it is (no newline added).
    let write: (String) -> Void
    /// Seconds from a monotonic clock.
    let now: () -> Double
    /// The terminal's width in columns.
    let columns: () -> Int
    let interval: Double
    let probe: TestAccuracyProbe?
    /// Whether a signal's line on standard error may land on this line's terminal
    /// (standard error is a terminal): the line is then marked open while drawn
    /// (`OpenProgressLine`), so that the signal handler ends it before its own line.
    let sharesTerminalWithErrors: Bool

    private var start = 0.0
    private var firstStep = 0
    private var lastDraw = -Double.infinity
    private var drawn = false
    /// The layout drawn last (`ProgressFields.layout`) and the width it was fitted
    /// to: the bar and the fields shown never grow back while the width stays.
    private var layout: (width: Int, index: Int)?
    /// The last step drawn, for the line `finished` redraws with the final figures.
    private var lastDrawn: (record: StepRecord, steps: Int, elapsed: Double)?

    /// The escape sequence that returns to the start of the line and clears it.
    static let clearLine = "\r\u{1B}[2K"

    init(write: @escaping (String) -> Void, now: @escaping () -> Double = Stopwatch.now,
         columns: @escaping () -> Int = { terminalColumns() }, interval: Double = 0.1, probe: TestAccuracyProbe? = nil,
         sharesTerminalWithErrors: Bool = false) {
        self.write = write
        self.sharesTerminalWithErrors = sharesTerminalWithErrors
        self.now = now
        self.columns = columns
        self.interval = interval
        self.probe = probe
    }

    convenience init(write: @escaping (String) -> Void, now: @escaping () -> Double = Stopwatch.now,
                     columns: Int, interval: Double = 0.1, probe: TestAccuracyProbe? = nil, sharesTerminalWithErrors: Bool = false) {
        self.init(write: write, now: now, columns: { columns }, interval: interval, probe: probe, sharesTerminalWithErrors: sharesTerminalWithErrors)
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
            if sharesTerminalWithErrors { OpenProgressLine.close() }
            printError(warning)
            lastDraw = -.infinity
        }
        let t = now()
        if t - lastDraw >= interval || record.step >= steps {
            lastDraw = t
            drawn = true
            // Marked before it is drawn: a signal's line that comes meanwhile still starts on its own line.
            if sharesTerminalWithErrors { OpenProgressLine.opened() }
            lastDrawn = (record, steps, t - start)
            write(Self.clearLine + line(record, steps: steps, elapsed: t - start))
        }
        return .proceed
    }

    /// Ends the line, unless a signal's line already ended it.
    ///
    /// The last step's line is drawn before the run measures its final test
    /// accuracy: when the probe (an observer before this one) has closed its curve
    /// with that figure, the line is redrawn with it. Its elapsed time is the wall
    /// time since the first step began, with the test-accuracy measurements and
    /// checkpoints; the summary's "of distillation" counts the steps alone and
    /// says so (`RunDisplay.distillationCovers`).
    func finished(_ outcome: DistillationOutcome) {
        guard drawn else { return }
        let open = !sharesTerminalWithErrors || OpenProgressLine.close()
        if open, let (record, steps, elapsed) = lastDrawn, let latest = probe?.points.last, latest.step == record.step {
            write(Self.clearLine + line(record, steps: steps, elapsed: elapsed))
        }
        if open { write("\n") }
    }

    /// The progress line for `record` of `steps`, `elapsed` seconds after the
    /// start, fitted to one column less than the terminal's width (so that it never
    /// wraps), in the layout drawn last or a narrower one while the width stays.
    func line(_ record: StepRecord, steps: Int, elapsed: Double) -> String {
        let done = record.step - firstStep
        let eta = done > 0 ? elapsed / Double(done) * Double(max(0, steps - record.step)) : .nan
        let test = probe?.points.last.map { (accuracy: $0.accuracy, step: $0.step) }
        let width = columns() - 1
        let fields = ProgressFields(step: record.step, steps: steps, elapsed: elapsed, eta: eta, loss: record.trainLoss,
                                    innerIterations: record.innerIterations, test: test)
        let drawn = fields.layout(width: width, from: layout?.width == width ? layout?.index ?? 0 : 0)
        layout = (width, drawn.index)
        return drawn.text
    }
}

/// The fields of the live progress line and how they give way on a narrow
/// terminal. In the order shown: bar, `k/N`, elapsed, `ETA`, `loss`,
/// `inner N it`, `test X% (step k)`. When the line is too wide the bar
/// shrinks from 24 to 10 characters, then fields are dropped in this order:
/// inner iterations, the test accuracy's step, elapsed time, the bar, the
/// ETA, the test accuracy, the loss; `k/N` always stays.
struct ProgressFields {
    var step: Int, steps: Int
    var elapsed: Double, eta: Double
    var loss: Double
    var innerIterations: Int
    var test: (accuracy: Double, step: Int)?

    enum Field: CaseIterable { case bar, step, elapsed, eta, loss, inner, test, testStep }

    /// The least important first.
    static let dropOrder: [Field] = [.inner, .testStep, .elapsed, .bar, .eta, .test, .loss]

    func text(_ field: Field, barWidth: Int) -> String? {
        switch field {
        case .bar:
            let fraction = steps > 0 ? min(1, max(0, Double(step) / Double(steps))) : 0
            let filled = min(barWidth, max(0, Int((fraction * Double(barWidth)).rounded(.down))))  // in 0...barWidth: no trap
            return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
        case .step: return "\(step)/\(steps)"
        case .elapsed: return NumberText.duration(elapsed)
        // A finished line has nothing left to estimate ("ETA 0.0 ms").
        case .eta: return eta.isFinite && step < steps ? "ETA " + NumberText.duration(eta) : nil
        case .loss: return "loss " + NumberText.fixed(loss, digits: 4)
        case .inner: return "inner \(innerIterations) it"
        case .test: return test.map { "test " + NumberText.percent($0.accuracy) }
        case .testStep: return test.map { "(step \($0.step))" }
        }
    }

    /// The line with as many fields as fit in `width` characters.
    func line(width: Int) -> String { layout(width: width).text }

    /// The layouts from the widest to the narrowest: the bar at 24, 22, ..., 10
    /// characters with every field, then at 10 with the first 1, 2, ...
    /// fields of `dropOrder` dropped.
    static let layoutCount = 8 + dropOrder.count

    /// The line in the widest layout, from the `from`-th on (see `layoutCount`),
    /// that fits in `width` characters, and that layout's index. A live line
    /// passes the layout it drew last, so that its bar never grows back (the
    /// last line, which has no ETA, would otherwise widen it).
    func layout(width: Int, from first: Int = 0) -> (text: String, index: Int) {
        func render(_ index: Int) -> String {
            let barWidth = max(10, 24 - 2 * index)
            let shown = Set(Field.allCases).subtracting(Self.dropOrder.prefix(max(0, index - 7)))
            var parts: [String] = []
            for field in Field.allCases where shown.contains(field) {
                guard let text = text(field, barWidth: barWidth) else { continue }
                // The test accuracy's step belongs to the accuracy: one space between them.
                if field == .testStep, shown.contains(.test), let last = parts.popLast() { parts.append(last + " " + text) } else { parts.append(text) }
            }
            return parts.joined(separator: "  ")
        }
        let last = Self.layoutCount - 1
        for index in min(max(0, first), last)...last {
            let text = render(index)
            if text.count <= width { return (text, index) }
        }
        return (render(last), last)  // `k/N` alone, even on a terminal narrower than it
    }
}

/// The line that opens a run's progress output.
func startLine(_ distiller: Distiller, dataset: LoadedDataset) -> String {
    let c = distiller.configuration
    let batch = c.batch.map { " on seeded batches of \($0) of them" } ?? ""
    return "Distilling \(dataset.train.count) training images of \(dataset.shape.height)x\(dataset.shape.width) pixels, \(dataset.classes) classes, into \(c.imagesPerClass) per class (\(counted(c.steps, "step"))\(batch), \(counted(c.threads, "thread"))); data loaded in \(format(dataset.seconds, 2)) s."
}

/// A warning for a step whose inner solve or linear solve missed its tolerance.
func toleranceWarning(_ record: StepRecord) -> String? {
    guard !record.innerConverged || !record.linearSolveConverged else { return nil }
    return "warning: step \(record.step): " + (record.innerConverged ? "" : "inner solve missed its tolerance (|F| = \(scientific(record.innerGradientNorm))) ")
        + (record.linearSolveConverged ? "" : "the linear solve missed its tolerance (residual \(scientific(record.linearSolveResidual)))")
}

/// `seconds` as `12.3 s`, `4m05s` or `1h02m` (`NumberText.duration`).
func duration(_ seconds: Double) -> String {
    NumberText.duration(seconds)
}

/// The width of the terminal on standard output: its window size
/// (TIOCGWINSZ), else the `COLUMNS` environment variable, else 80.
func terminalColumns() -> Int {
    var size = winsize()
    if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
    if let text = ProcessInfo.processInfo.environment["COLUMNS"], let columns = Int(text), columns > 0 { return columns }
    return 80
}

/// One JSON object per step on its own line, for programs to read:
/// `step, steps, train_loss, train_accuracy, train_measured_after_step, objective,
/// l2, inner_iterations, inner_gradient_norm, linear_solve_iterations,
/// linear_solve_residual, seconds`, plus `test_accuracy`, `test_loss` and
/// `test_measured_after_step` on the steps where the test accuracy was measured.
/// Non-finite numbers are written as `null`. `train_loss`, `train_accuracy` and
/// `objective` are those the step started from, before its update (step k's: the
/// set after k - 1 updates, as history.csv's), so `train_measured_after_step` is
/// k - 1 (0: the starting images); `test_accuracy` and `test_loss` are those of the
/// set after the step's update, `test_measured_after_step` k, as metrics.json's after
/// the last step. With `--batch` the loss and accuracy are the step's batch's and
/// named so, as in history.csv: `batch_loss`, `batch_accuracy`, `batch_measured_after_step`.
/// The run's opening line goes to standard error, as text (`started`).
final class JSONStepLines: DistillationObserver {
    let write: (String) -> Void
    let probe: TestAccuracyProbe?

    init(write: @escaping (String) -> Void, probe: TestAccuracyProbe? = nil) {
        self.write = write
        self.probe = probe
    }

    /// The opening line ("Distilling ...") goes to standard error, with the
    /// summary: standard output holds only the steps' objects.
    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        printError(startLine(distiller, dataset: dataset))
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        if let warning = toleranceWarning(record) { printError(warning) }
        // The step's loss and accuracy are of the set it started from: measured after step k - 1.
        let measured = distiller.configuration.batch == nil ? "train" : "batch"
        var fields: [(String, String)] = [
            ("step", "\(record.step)"), ("steps", "\(distiller.configuration.steps)"),
            ("\(measured)_loss", Self.number(record.trainLoss)), ("\(measured)_accuracy", Self.number(record.trainAccuracy)),
            ("\(measured)_measured_after_step", "\(record.step - 1)"),
            ("objective", Self.number(record.objective)), ("l2", Self.number(record.l2)),
            ("inner_iterations", "\(record.innerIterations)"), ("inner_gradient_norm", Self.number(record.innerGradientNorm)),
            ("linear_solve_iterations", "\(record.linearSolveIterations)"), ("linear_solve_residual", Self.number(record.linearSolveResidual)),
            ("seconds", Self.number(record.seconds)),
        ]
        if let latest = probe?.points.last, latest.step == record.step {
            fields += [("test_accuracy", Self.number(latest.accuracy)), ("test_loss", Self.number(latest.loss)),
                       ("test_measured_after_step", "\(latest.step)")]
        }
        write("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n")
        return .proceed
    }

    /// A JSON number (Swift's shortest round-tripping form), or `null` (`NumberText.json`).
    static func number(_ x: Double) -> String { NumberText.json(x) }
}

/// How often to measure the test accuracy when `--eval-every` is not given:
/// every k steps, with k the smallest round number (1, 2 or 5 x 10^j) for
/// which measuring costs at most `budget` (5%) of the run's time.
///
/// A measurement trains the inner model on a copy of the synthetic set
/// (warm started) and passes over the test set: `secondsPerEvaluation`. A
/// step costs `secondsPerStep`. Over `steps` steps, measuring every k steps
/// and once before the first (the last step's figure is the final model's,
/// measured anyway) costs `(steps / k + 1) * e` against the run's
/// `steps * s`, so k >= steps * e / (budget * steps * s - e). Returns nil
/// when even that one measurement before the first step would exceed the
/// budget (a short run, a slow test pass), or when an estimate is not a
/// positive finite number: then the curve has the final point only.
///
/// `TestAccuracyProbe` calls it with the measured time of its first
/// measurement and the median step time so far, again after every
/// measurement, so the interval follows the run.
func defaultEvaluationInterval(steps: Int, secondsPerStep: Double, secondsPerEvaluation: Double,
                               budget: Double = 0.05) -> Int? {
    let s = secondsPerStep, e = secondsPerEvaluation, n = Double(max(0, steps))
    guard s > 0, s.isFinite, e > 0, e.isFinite, budget > 0, n >= 1 else { return nil }
    let spare = budget * n * s - e
    guard spare > 0 else { return nil }
    let needed = max(1, n * e / spare)
    guard needed <= n else { return nil }
    // The next round number up: 1, 2, 5, 10, 20, 50, ...
    var k = 1.0
    while k < needed { k = nextRound(k) }
    return k <= n ? Int(k) : nil  // k <= steps: in Int's range
}

/// The round number after `k` in 1, 2, 5, 10, 20, 50, ...
private func nextRound(_ k: Double) -> Double {
    var decade = 1.0
    while decade * 10 <= k { decade *= 10 }
    let mantissa = k / decade
    return mantissa < 2 ? 2 * decade : mantissa < 5 ? 5 * decade : 10 * decade
}

/// Measures the test accuracy during the run: trains the inner model on a
/// copy of the distiller, so the run itself is unchanged, and evaluates it on
/// the test set, before the first step and then every `every` steps. With
/// `every` nil (the default of `run`), it chooses the interval with
/// `defaultEvaluationInterval` from the time its measurements and the steps
/// take, so measuring costs under 5% of the run.
final class TestAccuracyProbe: DistillationObserver {
    struct Point: Equatable {
        var step: Int
        var accuracy: Double
        var loss: Double
    }

    /// The interval given by `--eval-every`; nil: chosen as the run goes.
    let every: Int?
    let test: LabeledImages
    /// Called with a line for every measurement (nil: silent).
    let log: ((String) -> Void)?
    let budget: Double
    /// The measurements so far and the wall time they took, in seconds: read
    /// from another thread by the set a first signal writes (`RunDisplay.extraFiles`).
    private let measured = Mutex<(points: [Point], seconds: Double)>(([], 0))
    var points: [Point] { measured.withLock { $0.points } }
    /// Wall time spent measuring, in seconds.
    var seconds: Double { measured.withLock { $0.seconds } }
    /// The interval in use (nil until chosen, or when none fits the budget).
    private(set) var interval: Int?
    private var stepSeconds: [Double] = []
    private var firstStep = 0

    init(every: Int?, test: LabeledImages, log: ((String) -> Void)? = nil, budget: Double = 0.05) {
        self.every = every
        self.test = test
        self.log = log
        self.budget = budget
        self.interval = every
    }

    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        firstStep = distiller.step
        measure(distiller)
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        stepSeconds.append(record.seconds)
        let last = distiller.configuration.steps
        // The first estimates once a step has been timed, then again after every measurement.
        if every == nil, stepSeconds.count == 1 { choose(steps: last - firstStep) }
        // The last step's figure is the final model's, measured by the run; `--eval-every` still measures it here for the progress output.
        if let interval, record.step % interval == 0, every != nil || record.step < last {
            measure(distiller)
            if every == nil { choose(steps: last - firstStep) }
        }
        return .proceed
    }

    /// The interval for a run of `steps` steps from the timings so far.
    private func choose(steps: Int) {
        let measured = max(1, points.count)
        interval = defaultEvaluationInterval(steps: steps, secondsPerStep: median(stepSeconds),
                                             secondsPerEvaluation: seconds / Double(measured), budget: budget)
    }

    /// The final model's figures (measured by the run itself) close the curve.
    func finished(_ outcome: DistillationOutcome) {
        let m = outcome.metrics
        measured.withLock { $0.points = Self.points($0.points, through: m) }
    }

    /// The points measured up to the run's last step, closed by the final model's
    /// figures in `metrics` (as `finished` closes the curve), for the report of
    /// any step reached so far.
    func points(through metrics: RunMetrics) -> [Point] { Self.points(points, through: metrics) }

    private static func points(_ points: [Point], through m: RunMetrics) -> [Point] {
        let kept = points.filter { $0.step <= m.steps }
        return kept.last?.step == m.steps ? kept : kept + [Point(step: m.steps, accuracy: m.testAccuracy, loss: m.testLoss)]
    }

    private func measure(_ distiller: Distiller) {
        let clock = Stopwatch()
        var copy = distiller
        let inner = copy.solveInner()
        let evaluation = copy.evaluate(inner, on: test)
        let seconds = clock.seconds
        measured.withLock {
            $0.points.append(Point(step: distiller.step, accuracy: evaluation.accuracy, loss: evaluation.loss))
            $0.seconds += seconds
        }
        // Of the set after the step (the first: before any).
        log?((distiller.step == 0 ? "before step 1" : "after step \(distiller.step)") + "  test accuracy \(NumberText.percent(evaluation.accuracy))  test loss \(NumberText.fixed(evaluation.loss, digits: 4))")
    }
}
