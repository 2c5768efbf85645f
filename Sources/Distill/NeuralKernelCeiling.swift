import DistillImages
import DistillNumerics

/// The ceiling of the NNGP / NTK models: kernel ridge regression on a balanced
/// subset of the training set, as large as one Cholesky factorisation takes in
/// under a minute on 2 cores.
///
/// The factorisation is `CholeskyFactorization` (Double, `n³/6` multiply-adds).
/// Measured with its former unblocked loop on the shared 2-core machine (load
/// average 9): 24.9 s at `n = 3000`, 54.6 s at `n = 4000` (so 4000; 5000 would
/// take about twice as long). The blocked factorisation, the same bits, took
/// 4.9 to 7.1 s at `n = 4000` on that machine at load average 9.6-9.8 (a
/// random diagonally dominant matrix, 1 and 2 threads); the subset stays 4000
/// so that the ceiling's figures stay as they were. The whole MNIST ceiling at 4000 (the Gram matrix, the factorisation and
/// the predictions on every training and test image) took 157 s wall and 496 MB
/// peak with other runs on the machine (docs/ntk-defaults.md). The subset is the
/// first `trainingImages / C` images of each class in file order (deterministic).
public enum NeuralKernelCeiling {
    /// The size of the training subset the ceiling is fitted on.
    public static let trainingImages = 4000

    /// The first `count / C` images of every class of `train`, in file order
    /// (all of `train` when it is no larger).
    public static func subset(of train: LabeledImages, count: Int = trainingImages) -> LabeledImages {
        guard train.count > count else { return train }
        let perClass = max(1, count / max(1, train.classes))
        var taken = [Int](repeating: 0, count: train.classes)
        var indices: [Int] = []
        for i in 0..<train.count {
            let c = Int(train.labels[i])
            guard taken[c] < perClass else { continue }
            taken[c] += 1
            indices.append(i)
        }
        return train.subset(indices)
    }

    /// Kernel ridge regression with `kernel` (ridge `l2 · tr(K)/n`, KIP's targets
    /// one-hot minus 1/C, inputs standardised with `train`'s pixel statistics) on
    /// `subset(of: train)`, evaluated on the whole of `train` (mean squared error)
    /// and on `test`; nil when the factorisation fails.
    public static func evaluate(kernel: NeuralKernel, train: LabeledImages, test: LabeledImages,
                                l2: Double, threads: Int) -> Evaluation.Pair? {
        let support = subset(of: train)
        let model = NeuralKernelModel(kernel: kernel, standardisation: .measured(on: train), outerLoss: .meanSquaredError,
                                      threads: threads)
        var images = Matrix(zeros: support.count, support.features)
        for i in 0..<support.count { images.values.replaceSubrange((i * support.features)..<((i + 1) * support.features), with: support.image(i)) }
        var oneHot = Matrix(zeros: support.count, support.classes)
        for i in 0..<support.count { oneHot[i, Int(support.labels[i])] = 1 }
        let problem = model.problem(images: images, labels: model.initialLabels(oneHot), l2: l2)
        guard let alpha = problem.solution() else { return nil }
        let fit = InnerFit(images: images, labels: problem.labels, l2: l2, parameters: alpha, iterations: 0,
                           gradientNorm: problem.residual(alpha).norm, tolerance: 0)
        return Evaluation.Pair(train: model.evaluate(fit, on: train, threads: threads),
                               test: model.evaluate(fit, on: test, threads: threads))
    }
}
