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
    /// its baselines are) and on `test`; nil when the factorisation fails or when
    /// stopped: `stopRequested` is asked before the kernel matrix, before each
    /// block of `NeuralKernelRidgeRegression.kernelBlockRows` rows of its dot
    /// products and of the kernel matrix itself, between the factorisation's
    /// panels of 32 columns, and before each block of `evaluationBlock` images
    /// of the evaluation (the kernel against every training and test image, the
    /// longest part). A stop waits for at most one of these blocks (about 0.2 s
    /// at 10,000 images on 2 cores) or the copies between the kernel matrix and
    /// the first panel (about 1 s).
    public static func evaluate(model: NeuralKernelModel, train: LabeledImages, test: LabeledImages,
                                l2: Double, threads: Int, stopRequested: () -> Bool = { false }) -> Evaluation.Pair? {
        if stopRequested() { return nil }
        let support = subset(of: train)
        var images = Matrix(zeros: support.count, support.features)
        for i in 0..<support.count { images.values.replaceSubrange((i * support.features)..<((i + 1) * support.features), with: support.image(i)) }
        var oneHot = Matrix(zeros: support.count, support.classes)
        for i in 0..<support.count { oneHot[i, Int(support.labels[i])] = 1 }
        guard let problem = model.problem(images: images, labels: model.initialLabels(oneHot), l2: l2, stopRequested: stopRequested),
              let alpha = problem.solution() else { return nil }
        let fit = InnerFit(images: images, labels: problem.labels, l2: l2, parameters: alpha, iterations: 0,
                           gradientNorm: problem.residual(alpha).norm, tolerance: 0)
        guard let trainEvaluation = evaluate(model, fit, on: train, threads: threads, stopRequested: stopRequested),
              let testEvaluation = evaluate(model, fit, on: test, threads: threads, stopRequested: stopRequested) else { return nil }
        return Evaluation.Pair(train: trainEvaluation, test: testEvaluation)
    }

    /// Images per block of the ceiling's evaluation: a stop waits for at most one block.
    static let evaluationBlock = 5000

    /// `model.evaluate(fit, on: data)` in blocks of `block` images (the
    /// mean loss weighted by each block's count, the correct predictions summed),
    /// asking `stopRequested` before each block; nil once it answers true.
    static func evaluate(_ model: NeuralKernelModel, _ fit: InnerFit, on data: LabeledImages, threads: Int,
                         block: Int = evaluationBlock, stopRequested: () -> Bool) -> Evaluation? {
        var lossSum = 0.0, correct = 0.0
        for start in stride(from: 0, to: data.count, by: max(1, block)) {
            if stopRequested() { return nil }
            let end = min(data.count, start + max(1, block))
            let block = end - start == data.count ? data : data.subset(Array(start..<end))
            let evaluation = model.evaluate(fit, on: block, threads: threads)
            lossSum += evaluation.loss * Double(end - start)
            correct += (evaluation.accuracy * Double(end - start)).rounded()
        }
        let n = Double(max(1, data.count))
        return Evaluation(loss: lossSum / n, accuracy: correct / n)
    }
}
