import DistillImages
import DistillNumerics

/// The ceiling of dataset distillation: the same linear softmax model trained on
/// the whole training set instead of a synthetic one.
///
/// It minimises, over `W` (`p x C`),
///
///     f(W) = (1/n) Σᵢ [ logsumexp(xᵢ W) - yᵢ · xᵢ W ] + (λ/2) ‖W‖²
///     ∇f   = (1/n) Xᵀ (softmax(X W) - Y) + λ W
///
/// by L-BFGS from `W = 0`; `f` and `∇f` come from one fused `OuterPass` over the
/// training set per evaluation (Float32 inside blocks of rows, Double across them),
/// plus the L2 term in Double. Optimality is certified by
/// `‖∇f(W)‖ ≤ relativeTolerance · ‖∇f(0)‖`; the Float32 pass makes gradients
/// below about 1e-6 · ‖∇f(0)‖ round-off, so do not ask for much less.
public struct FullDataModel: Sendable {
    /// The trained weights, `p x C`.
    public let weights: Matrix
    /// The L2 strength λ it was trained with.
    public let l2: Double
    /// How the minimisation went: iterations, passes, the certified gradient norm.
    public let optimisation: LBFGSResult

    /// ‖∇f(W)‖ at the returned weights.
    public var gradientNorm: Double { optimisation.gradientNorm }
    /// Whether the gradient norm met its tolerance.
    public var converged: Bool { optimisation.converged }

    /// Trains on all of `train` with L2 strength `l2` (> 0), the pass on `threads` threads.
    ///
    /// `stopRequested` is asked before each L-BFGS iteration; once it answers true
    /// the training ends there (`optimisation.stopped`: the weights are not the minimiser).
    public init(train: LabeledImages, l2: Double, threads: Int,
                relativeTolerance: Double = 1e-5, maxIterations: Int = 2000, stopRequested: () -> Bool = { false }) {
        let pass = OuterPass(data: train, threads: threads)
        let shape = (rows: train.features, columns: train.classes)
        let lbfgs = LBFGS(relativeTolerance: relativeTolerance, maxIterations: maxIterations)
        optimisation = lbfgs.minimize(from: [Double](repeating: 0, count: shape.rows * shape.columns), stopRequested: stopRequested) { w in
            let result = pass.evaluate(weights: w, gradient: true)
            var value = result.loss, gradient = result.gradient
            for i in w.indices {
                value += 0.5 * l2 * w[i] * w[i]
                gradient[i] += l2 * w[i]
            }
            return (value, gradient)
        }
        weights = Matrix(rows: shape.rows, columns: shape.columns, values: optimisation.x)
        self.l2 = l2
    }
}
