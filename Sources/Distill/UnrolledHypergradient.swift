import DistillNumerics
import ImplicitDiff

/// Unrolled differentiation, for comparison with the implicit hypergradient.
///
/// Runs `steps` iterations of gradient descent on the softmax-regression inner
/// problem from the fixed start `W₀ = 0` with a fixed step size η,
///
///     W_{k+1} = W_k - η F(W_k; θ),   θ = (S, T, λ),
///
/// stores every iterate, and differentiates the map `θ ↦ W_N(θ)` exactly in
/// reverse: with `a_N = ∂L/∂W_N`, for k = N-1, …, 0,
///
///     θ̄   += -η ∂⟨a_{k+1}, F(W_k; θ)⟩/∂θ     (the condition's parameters-VJP at W_k)
///     a_k  = a_{k+1} - η H(W_k) a_{k+1}       (a Hessian-vector product at W_k)
///
/// The result is the gradient of `L(W_N(θ))`, the unrolled map itself, not of
/// `L(W*(θ))`: it approaches the implicit hypergradient as `W_N → W*`, at the
/// rate `(1 - η λ)^N` of gradient descent. Its memory grows with N (N iterates
/// of `p x C` weights and `m x C` probabilities), and its time is N gradient
/// evaluations forward plus N Hessian and parameters products backward.
public struct UnrolledGradientDescent: Sendable {
    public var steps: Int
    /// η, held fixed: it is not differentiated.
    public var stepSize: Double

    public init(steps: Int, stepSize: Double) {
        precondition(steps >= 0, "UnrolledGradientDescent: steps must be non-negative")
        self.steps = steps
        self.stepSize = stepSize
    }

    /// `1/L` with `L = λ + ‖S‖_F² / (2m)`, an upper bound on the largest
    /// eigenvalue of the Hessian `H = (1/m) Sᵀ D S + λ I` at every W: each row's
    /// softmax Jacobian `D_j = diag(p_j) - p_j p_jᵀ` has eigenvalues in [0, 1/2]
    /// (`vᵀ D_j v` is the variance of v under p_j, at most `(max v - min v)²/4 ≤ ‖v‖²/2`),
    /// and `‖S‖₂² ≤ ‖S‖_F²`. Gradient descent with η = 1/L then decreases g at
    /// every step and converges linearly. The Frobenius norm is a guaranteed bound
    /// (a few power iterations would give a tighter estimate, but from below).
    public static func stepSize(for problem: SoftmaxRegression) -> Double {
        let bound = problem.l2 + problem.images.dot(problem.images) / (2 * Double(problem.count))
        return 1 / bound
    }

    /// The stored forward pass of the unrolled solver.
    public struct Trajectory: Sendable {
        public let problem: SoftmaxRegression
        public let stepSize: Double
        /// `W_0, …, W_{N-1}` with their probabilities and gradients (what the reverse pass needs).
        public let iterates: [SoftmaxRegression.Evaluation]
        /// `W_N`, the unrolled solution.
        public let weights: Matrix
        /// ‖F(W_N)‖: how far the unrolled solution is from optimal.
        public let gradientNorm: Double

        /// `∂L(W_N(θ))/∂θ` for `outerGradient = ∂L/∂W_N`, by reverse-mode through every step.
        public func hypergradient(outerGradient: Matrix) -> SyntheticSetCotangent {
            precondition(outerGradient.rows == weights.rows && outerGradient.columns == weights.columns,
                         "outer gradient must be features x classes")
            var adjoint = outerGradient
            var cotangent = SyntheticSetCotangent(images: Matrix(zeros: problem.count, problem.features),
                                                  labels: Matrix(zeros: problem.count, problem.classes), l2: 0)
            for evaluation in iterates.reversed() {
                let condition = SoftmaxRegressionCondition(problem: problem, solution: evaluation)
                let step = condition.parametersVJP(adjoint.values)
                cotangent.images = cotangent.images.adding(step.images, scaledBy: -stepSize)
                cotangent.labels = cotangent.labels.adding(step.labels, scaledBy: -stepSize)
                cotangent.l2 -= stepSize * step.l2
                adjoint = adjoint.adding(problem.hessianProduct(probabilities: evaluation.probabilities, adjoint),
                                         scaledBy: -stepSize)
            }
            return cotangent
        }
    }

    /// Runs the N steps from `W₀ = 0`, storing the iterates.
    public func run(_ problem: SoftmaxRegression) -> Trajectory {
        var current = problem.evaluate(at: Matrix(zeros: problem.features, problem.classes))
        var iterates: [SoftmaxRegression.Evaluation] = []
        iterates.reserveCapacity(steps)
        for _ in 0..<steps {
            iterates.append(current)
            current = problem.evaluate(at: current.weights.adding(current.gradient, scaledBy: -stepSize))
        }
        return Trajectory(problem: problem, stepSize: stepSize, iterates: iterates,
                          weights: current.weights, gradientNorm: current.gradient.norm)
    }
}
