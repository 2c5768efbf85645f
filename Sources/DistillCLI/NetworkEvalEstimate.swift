import DistillNetworks
import DistillRun

/// How long `distill eval --network` will take, measured before the first
/// network trains the way `distill run` measures its steps (`DurationEstimate`):
/// the work is timed on copies (seed 1's network on the set's images), after
/// one untimed warm-up, as the median of up to three repeats (fewer once they
/// have taken 0.3 s), and two sizes of it give a line `a + b n` that is
/// taken to the real size (`DurationEstimate.line`):
///
/// - training for 1 and for 2 epochs, taken to the protocol's epochs (`a`:
///   the network's initialisation and workspaces, `b`: an epoch, augmentation
///   included);
/// - testing on the first `timedTestImages / 4` and `timedTestImages` test
///   images, taken to the whole test split (or testing on all of it when it is
///   no larger).
///
/// So the measurement costs about four epochs and a few hundred test images. A
/// network whose training diverges stops early: the estimate is then an upper bound.
struct NetworkEvalEstimate: Equatable {
    /// Seconds of one network's training (all its epochs).
    let trainingSeconds: Double
    /// Seconds of one epoch (the slope of the training line).
    let epochSeconds: Double
    /// Seconds of one network's test on the whole test split.
    let testSeconds: Double
    let networks: Int

    /// Seconds of the whole evaluation: every network trained and tested.
    var seconds: Double { Double(networks) * (trainingSeconds + testSeconds) }

    /// The most test images a timed test takes.
    static let timedTestImages = 256

    /// Times `work` (see the type's description) for `networks` networks.
    static func measure(_ work: NetworkWorkload, networks: Int) -> NetworkEvalEstimate {
        _ = DurationEstimate.medianSeconds(repeats: 1) { work.train(1) }  // warm-up
        let one = DurationEstimate.medianSeconds { work.train(1) }, two = DurationEstimate.medianSeconds { work.train(2) }
        let n = work.testImages, n2 = min(n, timedTestImages), n1 = n2 / 4
        let test: Double
        if n2 < n, n1 >= 1 {
            let t1 = DurationEstimate.medianSeconds { work.test(n1) }, t2 = DurationEstimate.medianSeconds { work.test(n2) }
            test = DurationEstimate.line(t1, at: n1, t2, at: n2, to: n)
        } else {
            test = DurationEstimate.medianSeconds { work.test(n) }
        }
        return NetworkEvalEstimate(trainingSeconds: DurationEstimate.line(one, at: 1, two, at: 2, to: work.epochs),
                                   epochSeconds: max(0, two - one), testSeconds: test, networks: networks)
    }

    /// The line printed before the first network trains: how many networks of
    /// which kind, on which images, for how many epochs, and with `estimate` how
    /// long it will take.
    static func plan(title: String, on what: String, seeds: [UInt64], settings: TrainingProtocol, testImages: Int,
                     estimate: NetworkEvalEstimate?) -> String {
        let networks = seeds.count == 1 ? "1 \(title) network (seed \(seeds[0]))"
            : "\(seeds.count) \(title) networks (seeds \(seeds.first ?? 0) to \(seeds.last ?? 0))"
        let augmentation: String
        switch settings.augmentation {
        case nil: augmentation = "no augmentation"
        case .dsa?: augmentation = "DSA augmentation"
        case .dc?: augmentation = "DC augmentation"
        }
        let plan = "Training \(networks) on \(what), \(settings.epochs) epoch(s) each (batches of \(settings.batchSize), \(augmentation)), then testing each on the \(testImages) test images"
        guard let estimate else { return plan + "." }
        return plan + ": about \(DurationEstimate.durationText(estimate.seconds)) in all (an epoch \(DurationEstimate.durationText(estimate.epochSeconds)), a test \(DurationEstimate.durationText(estimate.testSeconds)), timed on copies of seed \(seeds.first ?? 0)'s network before training); fewer --seeds or --epochs make it shorter."
    }

    /// The line printed as a network finishes: `result` holds that network alone,
    /// the `done`-th of `total`.
    static func finished(title: String, _ result: NetworkEvaluationResult, of total: Int, done: Int) -> String {
        let seed = result.seeds.first ?? 0, seconds = result.seconds.first ?? 0
        let outcome = result.diverged.first == true
            ? "diverged in epoch \(result.divergedAtEpoch.first.flatMap { $0 } ?? 0), not tested"
            : "\(format(100 * (result.testAccuracies.first ?? .nan), 2))%"
        return "\(title) seed \(seed) (\(done) of \(total)): \(outcome) in \(DurationEstimate.durationText(seconds))"
    }
}
