import DistillNumerics

/// The seeded minibatch of the training set an outer step takes its loss and
/// hypergradient on (`DistillerConfiguration.batch`, `--batch N`).
///
/// Step `s` (numbered from 1, as history.csv numbers it) takes `N` distinct
/// training images drawn uniformly without replacement, by a generator seeded
/// from the run's seed and `s` only: the batch of a step is the same whether or
/// not the run was stopped and resumed before it, and does not depend on the
/// thread count. The indices are returned in increasing order (the batch keeps
/// the training set's order, so a batch of all `n` images is the training set).
///
/// Why uniform and not class-balanced: every subset of `N` images is equally
/// likely, so each image is in the batch with probability `N / n` and the mean
/// of any per-image quantity over the batch is an unbiased estimate of its mean
/// over the training set, for every `N` (a class-balanced draw is unbiased only
/// when every class's share of `N` is a whole number, or with weights).
///
/// Why unbiased: for every model here the inner problem is on the synthetic set
/// only, so the inner solution `x*(S, T, λ)` does not depend on the batch, and
/// the outer loss is a mean over training images, `L = (1/n) Σᵢ ℓᵢ(x*, S)`. The
/// hypergradient `dL/dθ = ∂L/∂θ - uᵀ ∂F/∂θ` with `(∂F/∂x)ᵀ u = ∂L/∂x*` is linear
/// in the per-image gradients `∂ℓᵢ/∂x*` and `∂ℓᵢ/∂S` at that fixed solution, so
/// the batch's hypergradient (the same formula with the mean over the batch) is
/// the batch mean of the per-image hypergradients, and its expectation over the
/// draw is the full one. The pull towards the class means (`pull`) does not
/// involve the training images and is unaffected.
///
/// The trade-off: a step's pass over the training set costs about `N / n` of a
/// full one, but its hypergradient carries sampling noise (variance about
/// `(1/N - 1/n)` times the per-image variance), which Adam then follows; the
/// loss and accuracy a step records are the batch's.
public enum OuterBatch {
    /// The training images of step `step` (from 1) for a run seeded with `seed`:
    /// `size` distinct indices in `0..<count`, increasing.
    ///
    /// Robert Floyd's algorithm (Bentley & Floyd, "Programming Pearls: A Sample
    /// of Brilliance", CACM 30(9), 1987): `size` bounded draws, each subset of
    /// `size` equally likely; each bounded draw is unbiased (`below`), so the
    /// subsets are exactly equally likely for any `count`. Cost: `size` draws
    /// and a sort, whatever `count`.
    ///
    /// - Precondition: `1 <= size <= count`.
    public static func indices(seed: UInt64, step: Int, size: Int, count: Int) -> [Int] {
        precondition(size >= 1 && size <= count, "the batch must hold 1 to \(count) images, got \(size)")
        var random = generator(seed: seed, step: step)
        var chosen = Set<Int>(minimumCapacity: size)
        for j in (count - size)..<count {
            let t = Int(below(UInt64(j + 1), using: &random))
            chosen.insert(chosen.contains(t) ? j : t)
        }
        return chosen.sorted()
    }

    /// The generator of step `step`'s batch: its state is a hash of `seed` and
    /// `step` (two rounds of SplitMix64's output function), kept apart from the
    /// stream `seed` itself starts (the initialisation's) by a constant.
    static func generator(seed: UInt64, step: Int) -> SplitMix64 {
        var keyed = SplitMix64(seed: seed ^ 0x6F75_7465_725F_6261)  // "outer_ba"
        var stepped = SplitMix64(seed: keyed.next() ^ UInt64(bitPattern: Int64(step)))
        return SplitMix64(seed: stepped.next())
    }

    /// A uniform integer in `0..<bound` (`bound >= 1`), without modulo bias
    /// (D. Lemire, "Fast Random Integer Generation in an Interval", ACM TOMACS 29(1), 2019).
    static func below(_ bound: UInt64, using random: inout SplitMix64) -> UInt64 {
        var product = random.next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = random.next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }
}
