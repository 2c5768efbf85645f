import DistillNetworks
import DistillRun

/// How long `distill eval --network` will take, measured before the first
/// network trains the way `distill run` measures its steps (`DurationEstimate`):
/// the work is timed on copies (seed 1's network on the set's images), after
/// one untimed warm-up, as the median of up to three repeats (fewer once they
/// have taken 0.3 s), and two sizes of it give a line `a + b n` that is
/// taken to the real size (`DurationEstimate.line`):
///
/// - training for `k` and `2k` epochs, taken to the protocol's epochs (`a`:
///   the network's initialisation and workspaces, `b`: an epoch, augmentation
///   included), `k` doubled from 1 until `k` epochs take `minimumSeconds`:
///   the difference of two timings much shorter than that is timing noise (an
///   MLP's epoch on 100 images takes milliseconds; a line through 1 and 2
///   epochs put 300 of them at a third of their real time), and the protocol's
///   whole training, timed once `k` reaches its epochs, needs no line;
/// - testing on `timedTestImages` test images and twice as many, doubled in the
///   same way and taken to the whole test split (or testing on all of it);
/// - the preparation `NetworkEvaluation.evaluate` repeats for each network
///   (the normalised images and the trainer), timed by the caller.
///
/// So the measurement costs about four epochs and a few hundred test images
/// when an epoch takes `minimumSeconds` or more, and at most about twice the
/// protocol's whole training (and test) when it is that short. A network whose
/// training diverges stops early: the estimate is then an upper bound.
struct NetworkEvalEstimate: Equatable {
    /// Seconds of one network's training (all its epochs).
    let trainingSeconds: Double
    /// Seconds of one epoch (the slope of the training line).
    let epochSeconds: Double
    /// Seconds of one network's test on the whole test split.
    let testSeconds: Double
    /// Seconds of the preparation each network repeats before training.
    var preparationSeconds: Double = 0
    let networks: Int

    /// Seconds of the whole evaluation: every network prepared, trained and tested.
    var seconds: Double { Double(networks) * (preparationSeconds + trainingSeconds + testSeconds) }

    /// The fewest test images a timed test takes (all of them when there are fewer).
    static let timedTestImages = 256

    /// The shortest timing a line is drawn through (see the type's description).
    static let minimumSeconds = 0.1

    /// Times `work` (see the type's description) for `networks` networks, each
    /// also taking `preparationSeconds`; `time` gives the seconds of a piece of
    /// work (`DurationEstimate.medianSeconds`; a test's own clock).
    static func measure(_ work: NetworkWorkload, networks: Int, preparationSeconds: Double = 0,
                        time: (() -> Void) -> Double = { DurationEstimate.medianSeconds(of: $0) }) -> NetworkEvalEstimate {
        work.train(1)  // warm-up, untimed
        let training = doubling(from: 1, to: work.epochs, time: time, work.train)
        let test = doubling(from: timedTestImages, to: work.testImages, time: time, work.test)
        return NetworkEvalEstimate(trainingSeconds: training.seconds, epochSeconds: training.slope, testSeconds: test.seconds,
                                   preparationSeconds: preparationSeconds, networks: networks)
    }

    /// The seconds of `work(total)`: `work(k)` is timed for `k` = `start`,
    /// 2 `start`, ... until it takes `minimumSeconds` or `k` reaches `total`
    /// (then its time is the answer), and once it does, at `2k` too, the line
    /// through both taken to `total`. `slope`: the seconds of one more unit,
    /// from the last two timings (the time of a unit when there is one timing).
    static func doubling(from start: Int, to total: Int, time: (() -> Void) -> Double,
                         _ work: @escaping (Int) -> Void) -> (seconds: Double, slope: Double) {
        let total = max(1, total)
        var k = max(1, min(start, total))
        var t = time { work(k) }
        var previous: (k: Int, t: Double)?
        while t < minimumSeconds && k < total {
            previous = (k, t)
            k = min(total, 2 * k)
            let size = k
            t = time { work(size) }
        }
        if k == total {
            let slope = previous.map { max(0, (t - $0.t) / Double(k - $0.k)) } ?? t / Double(k)
            return (t, slope)
        }
        let k2 = min(total, 2 * k)
        let t2 = time { work(k2) }
        let slope = max(0, (t2 - t) / Double(k2 - k))
        return (k2 == total ? t2 : DurationEstimate.line(t, at: k, t2, at: k2, to: total), slope)
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
        let each = seeds.count == 1 ? "" : " each", it = seeds.count == 1 ? "it" : "each"
        let plan = "Training \(networks) on \(what), \(counted(settings.epochs, "epoch"))\(each) (batches of \(settings.batchSize), \(augmentation)), then testing \(it) on the \(testImages) test images"
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
