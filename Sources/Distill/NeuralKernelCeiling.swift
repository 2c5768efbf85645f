import DistillImages
import DistillNumerics

/// The ceiling of the NNGP / NTK models: kernel ridge regression on a balanced
/// subset of the training set, as large as one Cholesky factorisation takes in
/// under a minute on 2 cores.
///
/// The factorisation is `CholeskyFactorization` (blocked, Double, `n³/6`
/// multiply-adds). `tools/cholesky-timing` (a random positive definite matrix, 2
/// threads) on the idle 2-core machine, 2026-11-30 09:40 UTC: 16.9 s at
/// `n = 8000` and 35.4 s at `n = 10000`; `n³` puts 12000 at about 61 s (it took
/// 268 s on the same machine under load 8-10), so 10000. Its memory is four
/// `n × n` Double matrices (the dot products, the Gram matrix, its copy with the
/// ridge, the factor): 3.2 GB at 10000.
/// (The former unblocked loop took 54.6 s at 4000, the subset before.) The subset is the
/// first `trainingImages / C` images of each class in file order (deterministic).
public enum NeuralKernelCeiling {
    /// The size of the training subset the ceiling is fitted on.
    public static let trainingImages = 10000

    /// The first `count / C` images of every class of `train`, in file order
    /// (all of `train` when it is no larger).
    public static func subset(of train: LabeledImages, count: Int = trainingImages) -> LabeledImages {
        subsetIndices(of: train, count: count).map { train.subset($0) } ?? train
    }

    /// How many images `subset(of: train, count: count)` holds, without copying them.
    public static func subsetCount(of train: LabeledImages, count: Int = trainingImages) -> Int {
        subsetIndices(of: train, count: count)?.count ?? train.count
    }

    /// The indices of `subset(of:count:)` in `train`, in file order; nil when it is all of `train`.
    static func subsetIndices(of train: LabeledImages, count: Int) -> [Int]? {
        guard train.count > count else { return nil }
        let perClass = max(1, count / max(1, train.classes))
        var taken = [Int](repeating: 0, count: train.classes)
        var indices: [Int] = []
        for i in 0..<train.count {
            let c = Int(train.labels[i])
            guard taken[c] < perClass else { continue }
            taken[c] += 1
            indices.append(i)
        }
        return indices
    }

    /// Kernel ridge regression with `model`'s kernel and standardisation (ridge
    /// `l2 · tr(K)/n`, KIP's targets one-hot minus 1/C) on `subset(of: train)`,
    /// evaluated on the whole of `train` (with `model`'s outer loss, as the run and
    /// its baselines are) and on `test`; nil when the factorisation fails or is
    /// stopped (`stopRequested`, asked between its panels of 32 columns).
    public static func evaluate(model: NeuralKernelModel, train: LabeledImages, test: LabeledImages,
                                l2: Double, threads: Int, stopRequested: () -> Bool = { false }) -> Evaluation.Pair? {
        let support = subset(of: train)
        var images = Matrix(zeros: support.count, support.features)
        for i in 0..<support.count { images.values.replaceSubrange((i * support.features)..<((i + 1) * support.features), with: support.image(i)) }
        var oneHot = Matrix(zeros: support.count, support.classes)
        for i in 0..<support.count { oneHot[i, Int(support.labels[i])] = 1 }
        let problem = model.problem(images: images, labels: model.initialLabels(oneHot), l2: l2, stopRequested: stopRequested)
        guard let alpha = problem.solution() else { return nil }
        let fit = InnerFit(images: images, labels: problem.labels, l2: l2, parameters: alpha, iterations: 0,
                           gradientNorm: problem.residual(alpha).norm, tolerance: 0)
        return Evaluation.Pair(train: model.evaluate(fit, on: train, threads: threads),
                               test: model.evaluate(fit, on: test, threads: threads))
    }
}
