import DistillNumerics
import ImplicitDiff

/// Solves `H x = b` for the Hessian of softmax regression,
///
///     H = λ I + (1/m) Sᵀ J S    (J: the softmax Jacobians Q of the rows of P),
///
/// in the `m·C`-dimensional space of the synthetic images instead of the
/// `p·C`-dimensional space of the weights. With `u = S x`, `H x = b` is
///
///     (λ I + (1/m) K Q) u = S b,    K = S Sᵀ (m x m),    x = (b - (1/m) Sᵀ Q(u)) / λ,
///
/// an exact rewriting (no assumption on `b`). One product with `λI + (1/m) K Q`
/// costs `m²C` multiply-adds against `2mpC` for one with `H`: about 15 times less
/// for 100 MNIST images. The small system is not symmetric, so it is solved by
/// GMRES; `x`'s own residual `b - H x = (1/(mλ)) Sᵀ Q(r_u)` is then checked with
/// one product with `H` when `certifies` is true. If that check fails (round-off
/// on a badly conditioned `K`), conjugate gradient on `H` finishes from `x`.
/// Use it for few images (`SoftmaxRegression.prefersImageSpaceSolves`);
/// otherwise plain conjugate gradient on `H` is cheaper.
public struct LogisticHessianSolver: LinearSolver {
    public let images: Matrix
    public let gram: Matrix
    public let probabilities: Matrix
    public let l2: Double
    public var tolerance: Double
    public var maxIterations: Int
    /// Whether the returned residual is `‖b - H x‖` recomputed (one product with H).
    public var certifies: Bool
    /// `‖S‖_F`.
    public let imagesNorm: Double

    /// - Parameters:
    ///   - factors: `S Sᵀ` and `‖S‖_F`, if already computed for these images
    ///     (`InnerSolution.imageSpace`); nil to compute them here.
    public init(problem: SoftmaxRegression, probabilities: Matrix, factors: ImageSpaceFactors? = nil,
                tolerance: Double, maxIterations: Int = 1000, certifies: Bool = true) {
        let factors = factors ?? ImageSpaceFactors(problem)
        precondition(factors.gram.rows == problem.count, "LogisticHessianSolver: the Gram matrix is not m x m")
        images = problem.images
        gram = factors.gram
        imagesNorm = factors.imagesNorm
        self.probabilities = probabilities
        l2 = problem.l2
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.certifies = certifies
    }

    public func solve(_ matvec: ([Double]) -> [Double], _ b: [Double], initialGuess: [Double]?) -> LinearSolution {
        let m = Double(images.rows), p = images.columns, c = probabilities.columns
        let rhs = Matrix(rows: p, columns: c, values: b)
        let sb = images.multiplied(by: rhs)
        let bNorm = rhs.norm, sbNorm = sb.norm
        guard bNorm > 0 else {
            return LinearSolution(x: b, iterations: 0, residualNorm: 0, rightHandSideNorm: 0, converged: true)
        }
        // ‖b - H x‖ ≤ ‖S‖ ‖r_u‖ / (2 m λ) with ‖S‖ ≤ ‖S‖_F: ask GMRES for what makes
        // the bound meet the tolerance on ‖b - H x‖.
        let sNorm = imagesNorm
        let smallTolerance = sbNorm > 0 ? min(0.5, max(1e-15, tolerance * bNorm * 2 * m * l2 / (sNorm * sbNorm))) : 0.5
        let small = GMRES(tolerance: smallTolerance, maxIterations: maxIterations, restart: 60).solve({ u in
            let q = SoftmaxRegression.softmaxJacobianProduct(probabilities: probabilities, Matrix(rows: images.rows, columns: c, values: u))
            return gram.multiplied(by: q).scaled(by: 1 / m, adding: Matrix(rows: images.rows, columns: c, values: u), scaledBy: l2).values
        }, sb.values, initialGuess: initialGuess.map { images.multiplied(by: Matrix(rows: p, columns: c, values: $0)).values })
        let qu = SoftmaxRegression.softmaxJacobianProduct(probabilities: probabilities, Matrix(rows: images.rows, columns: c, values: small.x))
        let x = rhs.scaled(by: 1 / l2, adding: images.transposedMultiplied(by: qu), scaledBy: -1 / (m * l2))
        guard certifies else {
            return LinearSolution(x: x.values, iterations: small.iterations, residualNorm: small.residualNorm * sNorm / (2 * m * l2),
                                  rightHandSideNorm: bNorm, converged: small.converged)
        }
        let residual = rhs.adding(Matrix(rows: p, columns: c, values: matvec(x.values)), scaledBy: -1).norm
        if residual <= tolerance * bNorm {
            return LinearSolution(x: x.values, iterations: small.iterations, residualNorm: residual, rightHandSideNorm: bNorm, converged: true)
        }
        var finished = ConjugateGradient(tolerance: tolerance, maxIterations: maxIterations).solve(matvec, b, initialGuess: x.values)
        finished.iterations += small.iterations
        return finished
    }
}

extension SoftmaxRegression {
    /// The solver for systems with this problem's Hessian at `probabilities`:
    /// `LogisticHessianSolver` for few images, conjugate gradient otherwise.
    /// `factors` are the images' own, when already computed (`InnerSolution.imageSpace`).
    public func hessianSolver(probabilities: Matrix, factors: ImageSpaceFactors? = nil, tolerance: Double,
                              maxIterations: Int) -> any LinearSolver {
        prefersImageSpaceSolves
            ? LogisticHessianSolver(problem: self, probabilities: probabilities, factors: factors, tolerance: tolerance,
                                    maxIterations: maxIterations)
            : ConjugateGradient(tolerance: tolerance, maxIterations: maxIterations)
    }
}

/// What `LogisticHessianSolver` needs of the images alone, computed once per
/// synthetic set and shared by the inner solve's Newton systems and the implicit
/// linear solve: `S Sᵀ` (`m x m`, `SoftmaxRegression.gram`: rows over the
/// problem's threads, the same bits for any count) and `‖S‖_F`.
public struct ImageSpaceFactors: Sendable {
    public let gram: Matrix
    public let imagesNorm: Double

    public init(_ problem: SoftmaxRegression) {
        gram = problem.gram
        imagesNorm = problem.images.norm
    }
}
