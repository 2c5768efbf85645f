import Distill
import DistillImages
import Foundation

/// How long the steps of a run will take, measured before step 1 so that a
/// long run is announced before it starts (and can be stopped and made smaller).
///
/// A step costs about `a + b n`: `a` for what depends on the synthetic set alone
/// (the inner solve on the `m` synthetic images, the linear solve, Adam) and
/// `b n` for the passes over the `n` training images (the outer loss and its
/// gradient, and for the kernel models `K(X, S)`). The estimate times real steps
/// of the starting state, on copies (the run itself is untouched), with the
/// run's own model:
///
/// - with at most `2 * smallest.1` training images, steps on all of them;
/// - with more, steps on class-balanced subsets of `n2 = max(smallest.1, n / 8)`
///   and `n1 = n2 / 4` images (`subsetSizes(for:)`), and the line through the
///   two times taken to `n` (`b` and `a` clamped at 0 against timing noise).
///
/// With a batch of `N` training images per step (`DistillerConfiguration.batch`)
/// a step costs `a + b N` whatever `n`, and is timed on batched steps (batches
/// drawn from the whole training set, as the run draws them):
///
/// - with `N <= max(2 * smallest.1, n / 8)`, the run's own batched step (at
///   most four of them: no more pass work than the two subsets above);
/// - with more, batched steps of the `n1` and `n2` images above, the line
///   through them taken to `N`. Not the line through batches much smaller than
///   `N`: at 500 and 2,000 images a step is mostly `a` and the timing noise of a
///   shared machine, and the slope taken 5 times further was measured at a
///   quarter of the true step (NTK, 10 per class, `--batch 10000`).
///
/// Each size is timed after one untimed warm-up step (threads, first
/// allocations), as the median of up to three steps (fewer once a size has
/// taken 0.3 s). So the measurement costs a few steps' `a` and about a fifth of
/// a step's `b n`, not several steps; every model is timed by its own code,
/// with no per-model constants. The steps start cold (no warm start), so later
/// steps are often a little faster. Measured against real runs (MNIST, release
/// build, a shared machine): 0.86 to 1.16 of their time (README, "Nothing lost").
public struct DurationEstimate: Sendable, Equatable {
    /// The estimated seconds of one step over the whole training set (or its batch).
    public let secondsPerStep: Double
    /// The steps still to run.
    public let steps: Int
    /// The training images the timed steps used (one entry: all of them, or the
    /// run's batch).
    public let timedOn: [Int]
    /// The run's training images.
    public let trainingImages: Int
    /// The images of each step's batch (`DistillerConfiguration.batch`); nil for the whole training set.
    public let batch: Int?

    /// The estimated seconds of all the steps still to run.
    public var seconds: Double { secondsPerStep * Double(steps) }

    /// The smallest subset sizes timed (`n1`, `n2`).
    public static let smallest = (500, 2000)

    /// The subset sizes timed for `n` training images; nil when all of them are
    /// timed (`n <= 2 * smallest.1`).
    public static func subsetSizes(for n: Int) -> (Int, Int)? {
        guard n > 2 * smallest.1 else { return nil }
        let n2 = max(smallest.1, n / 8)
        return (max(smallest.0, n2 / 4), n2)
    }

    /// Announced when the estimate exceeds this many seconds, unless the
    /// environment variable `DISTILL_ANNOUNCE_SECONDS` gives another threshold.
    public static let defaultThreshold = 600.0
    public static let thresholdVariable = "DISTILL_ANNOUNCE_SECONDS"

    public init(secondsPerStep: Double, steps: Int, timedOn: [Int], trainingImages: Int, batch: Int? = nil) {
        self.secondsPerStep = secondsPerStep
        self.steps = steps
        self.timedOn = timedOn
        self.trainingImages = trainingImages
        self.batch = batch
    }

    /// Times `distiller`'s next step (see the type's description) on copies and
    /// extrapolates to its remaining steps over `train`.
    public static func measure(_ distiller: Distiller, train: LabeledImages) -> DurationEstimate {
        let steps = max(0, distiller.configuration.steps - distiller.step)
        let n = train.count
        if let batch = distiller.configuration.batch {
            if batch > max(2 * smallest.1, n / 8), let (n1, n2) = subsetSizes(for: n),
               let probe1 = probe(distiller, on: train, batch: n1), let probe2 = probe(distiller, on: train, batch: n2) {
                _ = medianStepSeconds(of: probe1, repeats: 1)  // warm-up
                let t1 = medianStepSeconds(of: probe1), t2 = medianStepSeconds(of: probe2)
                return DurationEstimate(secondsPerStep: line(t1, at: n1, t2, at: n2, to: batch), steps: steps, timedOn: [n1, n2],
                                        trainingImages: n, batch: batch)
            }
            _ = medianStepSeconds(of: distiller, repeats: 1)  // warm-up
            return DurationEstimate(secondsPerStep: medianStepSeconds(of: distiller), steps: steps, timedOn: [batch],
                                    trainingImages: n, batch: batch)
        }
        if let (n1, n2) = subsetSizes(for: n) {
            let small = balancedSubset(train, count: n1), large = balancedSubset(train, count: n2)
            if let probe1 = probe(distiller, on: small), let probe2 = probe(distiller, on: large) {
                _ = medianStepSeconds(of: probe1, repeats: 1)  // warm-up
                let t1 = medianStepSeconds(of: probe1), t2 = medianStepSeconds(of: probe2)
                return DurationEstimate(secondsPerStep: line(t1, at: n1, t2, at: n2, to: n), steps: steps, timedOn: [n1, n2],
                                        trainingImages: n)
            }
        }
        _ = medianStepSeconds(of: distiller, repeats: 1)  // warm-up
        return DurationEstimate(secondsPerStep: medianStepSeconds(of: distiller), steps: steps, timedOn: [n], trainingImages: n)
    }

    /// The median seconds of up to `repeats` steps, each on a fresh copy of
    /// `distiller` (the same step each time); fewer once they have taken 0.3 s.
    static func medianStepSeconds(of distiller: Distiller, repeats: Int = 3) -> Double {
        medianSeconds(repeats: repeats) {
            var copy = distiller
            let clock = Stopwatch()
            _ = copy.step(clock: { clock.seconds })
        }
    }

    /// `a + b x` for the line `a + b n` through the timings `t1` at `n1` and `t2`
    /// at `n2` (`n1 < n2`), with `b` and `a` clamped at 0 against timing noise.
    public static func line(_ t1: Double, at n1: Int, _ t2: Double, at n2: Int, to x: Int) -> Double {
        let b = max(0, (t2 - t1) / Double(n2 - n1)), a = max(0, t1 - b * Double(n1))
        return a + b * Double(x)
    }

    /// The median seconds of up to `repeats` runs of `work` (at least one; fewer
    /// once they have taken 0.3 s): how every estimate times its unit of work
    /// (a run's step here, a network's epoch and test in `distill eval --network`).
    public static func medianSeconds(repeats: Int = 3, of work: () -> Void) -> Double {
        var times: [Double] = []
        while times.isEmpty || (times.count < repeats && times.reduce(0, +) < 0.3) {
            let clock = Stopwatch()
            work()
            times.append(clock.seconds)
        }
        return median(times)
    }

    /// A copy of `distiller`'s state with `train` as the training set and the
    /// run's own model; nil when no distiller can be made for it (the caller
    /// then times steps on the whole set).
    /// With `batch`, the copy's steps take batches of that many images of `train`
    /// (else it keeps the run's: none, when timing subsets).
    static func probe(_ distiller: Distiller, on train: LabeledImages, batch: Int? = nil) -> Distiller? {
        var configuration = distiller.configuration
        configuration.initialisation = .noise  // replaced by the state below; needs nothing of the subset
        if let batch { configuration.batch = batch }
        guard var copy = try? Distiller(train: train, configuration: configuration, model: distiller.model),
              (try? copy.restore(distiller.state)) != nil else { return nil }
        return copy
    }

    /// `count` images of `train` (at most all), taken from each class in turn
    /// (the first of every class, then the second, ...), so that every class is in it.
    public static func balancedSubset(_ train: LabeledImages, count: Int) -> LabeledImages {
        var seen = [Int](repeating: 0, count: train.classes)
        var rank = [Int](repeating: 0, count: train.count)
        for i in 0..<train.count {
            let c = Int(train.labels[i])
            rank[i] = seen[c]
            seen[c] += 1
        }
        let order = (0..<train.count).sorted { (rank[$0], train.labels[$0], $0) < (rank[$1], train.labels[$1], $1) }
        return train.subset(Array(order.prefix(count)))
    }

    /// The threshold in seconds: `DISTILL_ANNOUNCE_SECONDS` from `environment`
    /// when set, else `defaultThreshold`.
    ///
    /// - Throws: `RunError` naming the variable when its value is not a number of seconds.
    public static func threshold(environment: [String: String] = ProcessInfo.processInfo.environment) throws(RunError) -> Double {
        guard let text = environment[thresholdVariable] else { return defaultThreshold }
        guard let value = Double(text), value >= 0, value.isFinite else {
            throw RunError("\(thresholdVariable)=\(text): expected a number of seconds, 0 or more (a run estimated to take longer is announced before step 1)")
        }
        return value
    }

    /// `seconds` as a person reads a duration: milliseconds (never "0.00 s"),
    /// seconds, minutes, hours or, beyond 48 hours, days.
    public static func durationText(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "an unknown time" }
        if seconds < 0.000_1 { return "under 0.1 ms" }
        if seconds < 0.009_95 { return String(format: "%.1f ms", 1000 * seconds) }
        if seconds < 10 { return String(format: "%.2f s", seconds) }
        if seconds < 90 { return String(format: "%.1f s", seconds) }
        let minutes = seconds / 60
        let hours = minutes / 60
        if hours >= 48 { return String(format: "%.1f days", hours / 24) }
        return minutes >= 120 ? String(format: "%.1f hours", hours) : String(format: "%.0f minutes", minutes)
    }

    /// How the step was timed, for the announcement.
    var timedText: String {
        if let batch {
            return timedOn.count == 1 ? "timed on a copy of the first step over its batch of \(batch) of the \(trainingImages) training images"
                : "timed on copies of the first step over batches of \(timedOn.map(String.init).joined(separator: " and ")) of the \(trainingImages) training images, for its batches of \(batch)"
        }
        return timedOn.count == 1 ? "timed on a copy of the first step over all \(trainingImages) training images"
            : "timed on copies of the first step over \(timedOn.map(String.init).joined(separator: " and ")) of the \(trainingImages) training images"
    }

    /// The announcement of `run` when the steps will take more than `threshold`
    /// seconds (nil otherwise): what is estimated, how it was measured, and the
    /// options that make it shorter.
    public func runAnnouncement(threshold: Double) -> String? {
        guard steps > 0, seconds > threshold else { return nil }
        return "Estimated time: the \(steps) steps of this run will take about \(Self.durationText(seconds)) (\(Self.durationText(secondsPerStep)) a step, \(timedText), before step 1); fewer --steps or a smaller --images-per-class make it shorter\(batchText). Ctrl-C stops after the current step and keeps a checkpoint."
    }

    /// How `--batch` would shorten the run: a smaller one, or one at all.
    var batchText: String {
        if let batch { return ", as does a --batch below \(batch)" }
        return ", as does --batch N (each step's hypergradient from N random training images: cheaper, but a noisy estimate)"
    }

    /// The announcement of a sweep of `sizes` (images per class, with the estimate
    /// of each) when all their steps will take more than `threshold` seconds.
    public static func sweepAnnouncement(_ sizes: [(imagesPerClass: Int, estimate: DurationEstimate)], threshold: Double) -> String? {
        let total = sizes.reduce(0) { $0 + $1.estimate.seconds }
        guard total > threshold, let first = sizes.first else { return nil }
        let each = sizes.map { "\($0.imagesPerClass) per class: \(durationText($0.estimate.seconds))" }.joined(separator: ", ")
        return "Estimated time: the distillations of this sweep (\(first.estimate.steps) steps at each size) will take about \(durationText(total)) (\(each); each \(first.estimate.timedText), before the first step), plus its baselines and evaluations; fewer or smaller sizes in --images-per-class or fewer --steps make it shorter."
    }
}
