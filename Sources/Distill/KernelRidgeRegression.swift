import DistillImages
import DistillNumerics
import ImplicitDiff
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kernel ridge regression with an RBF kernel as an inner model, in the style of
/// KIP (Nguyen et al., 2021, "Dataset meta-learning from kernel ridge-regression").
///
/// With support images `S` (`m x p`, the synthetic set), targets `T` (`m x C`),
/// the kernel `k(x, s) = exp(-γ ‖x - s‖²)` and `K = K(S, S)` (`m x m`), the model
/// predicts `f(X) = K(X, S) α` and its coefficients are
///
///     α* = (K + λ m I)⁻¹ T.
///
/// The scaling `λ m` is chosen so that λ means what it means in `RidgeRegression`:
/// α* minimises `(1/2m) ‖K α - T‖² + (λ/2) αᵀ K α`, the ridge objective
/// `(1/2m) ‖S W - T‖² + (λ/2) ‖W‖²` written in the dual (with the linear kernel
/// `K = S Sᵀ` and `W = Sᵀ α`, both give the same predictions). `K` is positive
/// semi-definite, so `K + λ m I` is symmetric positive definite for λ > 0.
///
/// The optimality condition differentiated is `KernelRidgeCondition`; the outer
/// loss is the softmax cross-entropy of the predictions on the training set,
/// `trainingSetLoss(on:coefficients:)`, which also returns the explicit gradient
/// in `S` (the predictions depend on `S` through `K(X, S)`, not only through α).
public struct KernelRidgeRegression: Sendable {
    public let images: Matrix
    public let labels: Matrix
    public let l2: Double
    /// γ in `k(x, s) = exp(-γ ‖x - s‖²)`, held fixed (not learned).
    public let bandwidth: Double

    public init(images: Matrix, labels: Matrix, l2: Double, bandwidth: Double) {
        precondition(images.rows == labels.rows, "KernelRidgeRegression: images and labels differ in count")
        self.images = images
        self.labels = labels
        self.l2 = l2
        self.bandwidth = bandwidth
    }

    public var features: Int { images.columns }
    public var classes: Int { labels.columns }
    public var count: Int { images.rows }

    /// `k(x, s_j) = exp(-γ ‖x - s_j‖²)` for a point `x` of `features` values.
    public func kernel(_ x: [Double], supportImage j: Int) -> Double {
        let p = features
        var d2 = 0.0
        for k in 0..<p {
            let d = x[k] - images.values[j * p + k]
            d2 += d * d
        }
        return exp(-bandwidth * d2)
    }

    /// `K(X, S)`, `n x m`, for points `X` (`n x features`, one per row).
    public func kernelMatrix(_ x: Matrix) -> Matrix {
        precondition(x.columns == features, "KernelRidgeRegression: points of \(x.columns) features, expected \(features)")
        var out = Matrix(zeros: x.rows, count)
        for i in 0..<x.rows {
            let row = Array(x.values[(i * features)..<((i + 1) * features)])
            for j in 0..<count { out[i, j] = kernel(row, supportImage: j) }
        }
        return out
    }

    /// The Gram matrix `K = K(S, S)`.
    public var gram: Matrix { kernelMatrix(images) }

    /// `α* = (K + λ m I)⁻¹ T`, `m x C`, or nil when `K + λ m I` is not
    /// numerically positive definite (λ ≤ 0, or non-finite input).
    public func solution() -> Matrix? {
        var a = gram
        for j in 0..<count { a[j, j] += l2 * Double(count) }
        guard let factor = CholeskyFactorization(symmetric: a.values, dimension: count) else { return nil }
        return Matrix(rows: count, columns: classes, values: factor.solve(rowMajor: labels.values, columns: classes))
    }

    /// The predictions `K(X, S) α` (`n x C`).
    public func predictions(on x: Matrix, coefficients alpha: Matrix) -> Matrix {
        kernelMatrix(x).multiplied(by: alpha)
    }

    /// The training-set loss of the kernel model and its two gradients.
    public struct TrainingSetLoss: Sendable {
        /// `L = (1/n) Σ_i [ logsumexp(z_i) - z_{i, y_i} ]`, `z_i = Σ_j k(x_i, s_j) α_j`.
        public var loss: Double
        /// Points whose arg-max prediction is their label.
        public var correct: Int
        /// `∂L/∂α = K(X, S)ᵀ G`, `m x C`, with `G = (softmax(Z) - Y)/n`.
        public var coefficientGradient: Matrix
        /// The explicit `∂L/∂S` at fixed α, `m x p`:
        /// `∂L/∂s_j = 2γ Σ_i E_ij (x_i - s_j)`, `E_ij = k(x_i, s_j) (g_i · α_j)`.
        public var imageGradient: Matrix
    }

    /// Softmax cross-entropy of the predictions `K(X, S) α` on `data`, and its
    /// gradients in α and (explicitly) in `S`, in plain Double loops.
    ///
    /// Cost: `n · m · (3p + 3C)` multiply-adds and `n · m` exponentials; for MNIST
    /// (n = 60,000, p = 784) and m = 100 that is about 14 GFLOP, seconds per call
    /// on one core, against about 2 GFLOP for the fused linear outer pass.
    public func trainingSetLoss(on data: LabeledImages, coefficients alpha: Matrix) -> TrainingSetLoss {
        precondition(data.features == features && data.classes == classes, "KernelRidgeRegression: data shape differs from the model's")
        precondition(alpha.rows == count && alpha.columns == classes, "KernelRidgeRegression: coefficients must be count x classes")
        let n = data.count, m = count, p = features, c = classes, gamma = bandwidth
        var loss = 0.0, correct = 0
        var dAlpha = Matrix(zeros: m, c), dImages = Matrix(zeros: m, p)
        var k = [Double](repeating: 0, count: m), z = [Double](repeating: 0, count: c)
        for i in 0..<n {
            let x = data.image(i)
            let label = Int(data.labels[i])
            for j in 0..<m { k[j] = kernel(x, supportImage: j) }
            for q in 0..<c {
                var s = 0.0
                for j in 0..<m { s += k[j] * alpha[j, q] }
                z[q] = s
            }
            var zmax = z[0], arg = 0
            for q in 1..<max(1, c) where z[q] > zmax { zmax = z[q]; arg = q }
            if arg == label { correct += 1 }
            var sum = 0.0
            for q in 0..<c { sum += exp(z[q] - zmax) }
            loss += zmax + log(sum) - z[label]
            // g_i = (softmax(z_i) - e_{y_i}) / n, kept in z.
            for q in 0..<c { z[q] = (exp(z[q] - zmax) / sum - (q == label ? 1 : 0)) / Double(n) }
            for j in 0..<m {
                var ag = 0.0
                for q in 0..<c {
                    dAlpha[j, q] += k[j] * z[q]
                    ag += alpha[j, q] * z[q]
                }
                let e = 2 * gamma * k[j] * ag
                if e == 0 { continue }
                for f in 0..<p { dImages.values[j * p + f] += e * (x[f] - images.values[j * p + f]) }
            }
        }
        return TrainingSetLoss(loss: loss / Double(max(1, n)), correct: correct, coefficientGradient: dAlpha, imageGradient: dImages)
    }
}

/// The optimality condition of `KernelRidgeRegression` at its solution α*:
///
///     F(α, S, T, λ) = (K(S, S) + λ m I) α - T = 0.
///
/// Its solution Jacobian `A = K + λ m I` is symmetric positive definite (for
/// λ > 0). With `B = U αᵀ` and `E = (B + Bᵀ) ⊙ K` (`m x m`), its parameters-VJP
/// with `U` (`m x C`) is, using `∂K_jk/∂s_j = -2γ (s_j - s_k) K_jk`,
///
///     ∂⟨U, F⟩/∂s_j = 2γ [ (E S)_j - (Σ_k E_jk) s_j ]
///     ∂⟨U, F⟩/∂T   = -U
///     ∂⟨U, F⟩/∂λ   = m ⟨U, α⟩
///
/// and its parameters-JVP along `(Ṡ, Ṫ, λ̇)` is
///
///     Ḟ = K̇ α + λ̇ m α - Ṫ,   K̇_jk = -2γ K_jk ⟨s_j - s_k, ṡ_j - ṡ_k⟩.
public struct KernelRidgeCondition: RootCondition {
    public let problem: KernelRidgeRegression
    public let coefficients: Matrix
    /// `K(S, S)`, computed once.
    public let gram: Matrix

    public init(problem: KernelRidgeRegression, coefficients: Matrix) {
        precondition(coefficients.rows == problem.count && coefficients.columns == problem.classes,
                     "KernelRidgeCondition: coefficients must be count x classes")
        self.problem = problem
        self.coefficients = coefficients
        gram = problem.gram
    }

    public var dimension: Int { problem.count * problem.classes }
    public var isSymmetric: Bool { true }

    /// `(K + λ m I) U`.
    public func solutionVJP(_ u: [Double]) -> [Double] {
        let u = asCoefficients(u)
        return gram.multiplied(by: u).adding(u, scaledBy: problem.l2 * Double(problem.count)).values
    }

    public func solutionJVP(_ v: [Double]) -> [Double] { solutionVJP(v) }

    public func parametersVJP(_ u: [Double]) -> SyntheticSetCotangent {
        let u = asCoefficients(u)
        let m = problem.count
        let b = u.multipliedTransposed(by: coefficients)
        var e = Matrix(zeros: m, m)
        for j in 0..<m {
            for k in 0..<m { e[j, k] = (b[j, k] + b[k, j]) * gram[j, k] }
        }
        var images = e.multiplied(by: problem.images)
        for j in 0..<m {
            var rowSum = 0.0
            for k in 0..<m { rowSum += e[j, k] }
            for f in 0..<problem.features { images[j, f] -= rowSum * problem.images[j, f] }
        }
        return SyntheticSetCotangent(images: images.scaled(by: 2 * problem.bandwidth), labels: u.scaled(by: -1),
                                     l2: Double(m) * u.dot(coefficients))
    }

    public func parametersJVP(_ tangent: SyntheticSetTangent) -> [Double] {
        let m = problem.count
        let g = problem.images.multipliedTransposed(by: tangent.images)   // G_jk = ⟨s_j, ṡ_k⟩
        var kDot = Matrix(zeros: m, m)
        for j in 0..<m {
            for k in 0..<m {
                kDot[j, k] = -2 * problem.bandwidth * gram[j, k] * (g[j, j] - g[j, k] - g[k, j] + g[k, k])
            }
        }
        return kDot.multiplied(by: coefficients)
            .adding(coefficients, scaledBy: tangent.l2 * Double(m))
            .adding(tangent.labels, scaledBy: -1)
            .values
    }

    private func asCoefficients(_ v: [Double]) -> Matrix {
        Matrix(rows: problem.count, columns: problem.classes, values: v)
    }
}
