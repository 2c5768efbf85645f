import DistillImages
import DistillNumerics
import ImplicitDiff
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The affine map from pixels to what a kernel model sees: `(x - mean) / std`,
/// with the training set's global pixel mean and standard deviation.
public struct PixelStandardisation: Sendable, Equatable, Codable {
    public var mean: Double
    public var std: Double

    public init(mean: Double, std: Double) {
        self.mean = mean
        self.std = std
    }

    /// The identity (images already standardised).
    public static let identity = PixelStandardisation(mean: 0, std: 1)

    /// The global mean and standard deviation of the pixels of `data` (as the
    /// model sees them, `stored · scale`), in Double; std 1 for constant images.
    public static func measured(on data: LabeledImages) -> PixelStandardisation {
        var sum = 0.0, squares = 0.0
        switch data.pixels {
        case .bytes(let b):
            // Exact integer sums (at most 255² per pixel: no overflow below 2^47 pixels).
            var total: UInt64 = 0, totalSquares: UInt64 = 0
            b.withUnsafeBufferPointer { buffer in
                for v in buffer { total &+= UInt64(v); totalSquares &+= UInt64(v) * UInt64(v) }
            }
            sum = Double(total)
            squares = Double(totalSquares)
        case .floats(let f):
            for v in f { sum += Double(v); squares += Double(v) * Double(v) }
        }
        let count = Double(max(1, data.count * data.features)), scale = Double(data.scale)
        let mean = sum / count
        let variance = max(0, squares / count - mean * mean)
        let std = variance > 0 ? variance.squareRoot() * scale : 1
        return PixelStandardisation(mean: mean * scale, std: std)
    }

    /// `(x - mean) / std`, element-wise.
    public func apply(_ x: Matrix) -> Matrix {
        Matrix(rows: x.rows, columns: x.columns, values: x.values.map { ($0 - mean) / std })
    }
}

/// The outer objective of a kernel model on a labelled set.
public enum KernelOuterLoss: String, Sendable, CaseIterable, Codable {
    /// KIP's loss: `(1/2n) Σ_i ‖f(x_i) - y_i‖²`, `y_i` one-hot minus 1/C.
    case meanSquaredError = "mse"
    /// Softmax cross-entropy of the predictions as logits.
    case crossEntropy = "cross-entropy"
}

/// Kernel ridge regression with an NNGP or NTK kernel on a synthetic set, as in
/// KIP (Nguyen, Chen & Lee 2021, "Dataset meta-learning from kernel ridge-regression").
///
/// With synthetic images `S` (`m x p`, pixel units), their standardised
/// version `U = (S - mean)/std`, targets `T` (`m x C`), `K = K(U, U)`:
///
///     α* = (K + r I)⁻¹ T,   r = λ tr(K) / m,
///
/// (the regulariser scale-free, as KIP's) and the model predicts
/// `f(x) = K((x - mean)/std, U) α*`.
///
/// Everything an outer step needs of `U` is computed once, at `init`: `U`, its
/// dot products `U Uᵀ`, `K` and the Cholesky factorisation of `K + r I`; the
/// inner solve, the implicit linear solve and the condition's parameters-VJP
/// share them (`NeuralKernelModel` keeps the problem in its `InnerFit`).
public struct NeuralKernelRidgeRegression: Sendable {
    public let images: Matrix
    public let labels: Matrix
    public let l2: Double
    public let kernel: NeuralKernel
    public let standardisation: PixelStandardisation
    /// `U`, the standardised images.
    public let standardised: Matrix
    /// `K(U, U)`.
    public let gram: Matrix
    /// The Cholesky factorisation of `K + r I`; nil when it is not numerically
    /// positive definite (λ ≤ 0, non-finite input).
    public let factorization: CholeskyFactorization?
    /// The threads the Gram matrix, its factorisation, its VJP and their
    /// products are split over (the results are the same bits for any count):
    /// the `threads` asked for, but at most one per `rowsPerThread` images (a
    /// smaller split costs more in waking and joining threads than it saves).
    public let threads: Int
    /// Support images per thread below which fewer threads are used.
    public static let rowsPerThread = 100
    /// `U Uᵀ`.
    let dots: Matrix
    /// `q_1` of every row of `U` (`NeuralKernel.firstLayerVariances`).
    let firstLayer: [Double]

    /// The problem on `images` (`m x p`, pixel units) and `labels` (`m x C`):
    /// `U`, `U Uᵀ`, `K` and the factorisation of `K + r I` (nil when it is not
    /// numerically positive definite), over `threads`.
    public init(images: Matrix, labels: Matrix, l2: Double, kernel: NeuralKernel, standardisation: PixelStandardisation,
                threads: Int = 1) {
        precondition(images.rows == labels.rows, "NeuralKernelRidgeRegression: images and labels differ in count")
        let threads = Self.threads(threads, images: images.rows)
        let standardised = standardisation.apply(images)
        let dots = standardised.multipliedBySelfTransposed(threads: threads)
        let firstLayer = kernel.firstLayerVariances(standardised)
        let gram = kernel.gram(dots: dots, firstLayer: firstLayer, features: standardised.columns, threads: threads)
        self.init(images: images, labels: labels, l2: l2, kernel: kernel, standardisation: standardisation, threads: threads,
                  standardised: standardised, dots: dots, firstLayer: firstLayer, gram: gram,
                  factorization: CholeskyFactorization(symmetric: Self.regularised(gram, l2: l2).values, dimension: gram.rows,
                                                       threads: threads))
    }

    /// `init(images:labels:l2:kernel:standardisation:threads:)`, the same bits,
    /// stoppable: `U Uᵀ` and `K` are built in blocks of `blockRows` rows and
    /// `stopRequested` is asked before each block of each (before the whole of
    /// `U Uᵀ` for fewer than 16 pixels) and before each panel of 32 columns of
    /// the Cholesky factorisation (`CholeskyFactorization`); nil once it
    /// answers true (a factorisation that fails otherwise gives a problem
    /// whose `factorization` is nil, as that init does).
    public init?(images: Matrix, labels: Matrix, l2: Double, kernel: NeuralKernel, standardisation: PixelStandardisation,
                 threads: Int = 1, blockRows: Int = kernelBlockRows, stopRequested: () -> Bool) {
        precondition(images.rows == labels.rows, "NeuralKernelRidgeRegression: images and labels differ in count")
        var stopped = false
        func stop() -> Bool {
            if !stopped { stopped = stopRequested() }
            return stopped
        }
        let threads = Self.threads(threads, images: images.rows)
        let standardised = standardisation.apply(images)
        guard let dots = standardised.multipliedBySelfTransposed(threads: threads, blockRows: blockRows, stopRequested: stop)
        else { return nil }
        let firstLayer = kernel.firstLayerVariances(standardised)
        guard let gram = kernel.gram(dots: dots, firstLayer: firstLayer, features: standardised.columns, threads: threads,
                                     blockRows: blockRows, stopRequested: stop) else { return nil }
        let factorization = CholeskyFactorization(symmetric: Self.regularised(gram, l2: l2).values, dimension: gram.rows,
                                                  threads: threads, stopRequested: stop)
        if stopped { return nil }
        self.init(images: images, labels: labels, l2: l2, kernel: kernel, standardisation: standardisation, threads: threads,
                  standardised: standardised, dots: dots, firstLayer: firstLayer, gram: gram, factorization: factorization)
    }

    /// Rows per block of the stoppable init's `U Uᵀ` and `K`: a stop waits for at
    /// most one block, at 10,000 images (the ceiling) 256 x 10,000 dot products of
    /// 784 pixels or kernel entries, about 0.1-0.2 s on 2 cores (the whole of
    /// either took 2-4 s under load 2.5).
    public static let kernelBlockRows = 256

    private init(images: Matrix, labels: Matrix, l2: Double, kernel: NeuralKernel, standardisation: PixelStandardisation,
                 threads: Int, standardised: Matrix, dots: Matrix, firstLayer: [Double], gram: Matrix,
                 factorization: CholeskyFactorization?) {
        self.images = images
        self.labels = labels
        self.l2 = l2
        self.kernel = kernel
        self.standardisation = standardisation
        self.threads = threads
        self.standardised = standardised
        self.dots = dots
        self.firstLayer = firstLayer
        self.gram = gram
        self.factorization = factorization
    }

    /// The `threads` asked for, at most one per `rowsPerThread` images.
    private static func threads(_ threads: Int, images: Int) -> Int { max(1, min(threads, images / rowsPerThread)) }

    /// `K + r I`, `r = λ tr(K) / m`.
    private static func regularised(_ gram: Matrix, l2: Double) -> Matrix {
        let ridge = l2 * meanDiagonal(gram)
        var a = gram
        for j in 0..<a.rows { a[j, j] += ridge }
        return a
    }

    public var count: Int { images.rows }
    public var classes: Int { labels.columns }
    public var features: Int { images.columns }

    /// `tr(K) / m`.
    public var meanDiagonal: Double { Self.meanDiagonal(gram) }

    static func meanDiagonal(_ k: Matrix) -> Double {
        var s = 0.0
        for j in 0..<k.rows { s += k[j, j] }
        return s / Double(max(1, k.rows))
    }

    /// `r = λ tr(K) / m`.
    public var ridge: Double { l2 * meanDiagonal }

    /// `α* = (K + r I)⁻¹ T` by Cholesky, or nil when `K + r I` is not numerically
    /// positive definite (λ ≤ 0, non-finite input).
    public func solution() -> Matrix? {
        guard let factor = factorization else { return nil }
        return Matrix(rows: count, columns: classes, values: factor.solve(rowMajor: labels.values, columns: classes))
    }

    /// `∂⟨G, K(U, U)⟩/∂U` (`m x p`) for a cotangent `G` (`m x m`): `NeuralKernel.gramVJP`
    /// on the stored `U Uᵀ` and `q_1`, over `threads`.
    public func gramVJP(cotangent g: Matrix) -> Matrix {
        kernel.gramVJP(standardised, dots: dots, firstLayer: firstLayer, cotangent: g, threads: threads)
    }

    /// `F(α) = (K + r I) α - T`.
    public func residual(_ alpha: Matrix) -> Matrix {
        gram.multiplied(by: alpha).adding(alpha, scaledBy: ridge).adding(labels, scaledBy: -1)
    }

    /// The loss of the predictions on points `x` (pixel units, one per row) with
    /// class labels `y`, and its gradients at fixed α: `∂L/∂α` (`m x C`) and the
    /// explicit `∂L/∂S` (`m x p`, pixel units). Plain Double: the reference the
    /// fused pass is tested against.
    public func outerLoss(on x: Matrix, labels y: [Int], coefficients alpha: Matrix, loss kind: KernelOuterLoss)
        -> (loss: Double, correct: Int, predictions: Matrix, coefficientGradient: Matrix, imageGradient: Matrix) {
        let n = x.rows, c = classes
        let xs = standardisation.apply(x)
        let k = kernel.matrix(xs, standardised)
        let predictions = k.multiplied(by: alpha)
        var dP = Matrix(zeros: n, c)
        var loss = 0.0, correct = 0
        for i in 0..<n {
            var arg = 0
            for q in 1..<c where predictions[i, q] > predictions[i, arg] { arg = q }
            if arg == y[i] { correct += 1 }
            switch kind {
            case .meanSquaredError:
                for q in 0..<c {
                    let e = predictions[i, q] - ((q == y[i] ? 1 : 0) - 1 / Double(c))
                    loss += 0.5 * e * e
                    dP[i, q] = e / Double(n)
                }
            case .crossEntropy:
                let zmax = predictions[i, arg]
                var sum = 0.0
                for q in 0..<c { sum += exp(predictions[i, q] - zmax) }
                loss += zmax + log(sum) - predictions[i, y[i]]
                for q in 0..<c { dP[i, q] = (exp(predictions[i, q] - zmax) / sum - (q == y[i] ? 1 : 0)) / Double(n) }
            }
        }
        let dAlpha = k.transposedMultiplied(by: dP)
        let dK = dP.multipliedTransposed(by: alpha)
        let dImages = kernel.matrixVJP(xs, standardised, cotangent: dK).scaled(by: 1 / standardisation.std)
        return (loss / Double(max(1, n)), correct, predictions, dAlpha, dImages)
    }
}

/// The optimality condition of `NeuralKernelRidgeRegression` at α:
///
///     F(α, S, T, λ) = (K(U, U) + r I) α - T,   r = λ tr(K)/m,   U = (S - mean)/std.
///
/// Its solution Jacobian `K + r I` is symmetric positive definite (λ > 0). Its
/// parameters-VJP with `V` (`m x C`): the cotangent on `K` is
/// `G = V αᵀ + (λ/m) ⟨V, α⟩ I`, carried to `S` by `NeuralKernel.gramVJP` and the
/// standardisation (`1/std`); on `T` it is `-V`; on λ it is `(tr K / m) ⟨V, α⟩`.
/// Its parameters-JVP along `(Ṡ, Ṫ, λ̇)` is `K̇ α + ṙ α - Ṫ`,
/// `ṙ = λ̇ tr(K)/m + λ tr(K̇)/m`.
public struct NeuralKernelRidgeCondition: RootCondition {
    public let problem: NeuralKernelRidgeRegression
    public let coefficients: Matrix

    public init(problem: NeuralKernelRidgeRegression, coefficients: Matrix) {
        precondition(coefficients.rows == problem.count && coefficients.columns == problem.classes,
                     "NeuralKernelRidgeCondition: coefficients must be count x classes")
        self.problem = problem
        self.coefficients = coefficients
    }

    public var dimension: Int { problem.count * problem.classes }
    public var isSymmetric: Bool { true }

    /// `(K + r I) V`.
    public func solutionVJP(_ u: [Double]) -> [Double] {
        let u = Matrix(rows: problem.count, columns: problem.classes, values: u)
        return problem.gram.multiplied(by: u).adding(u, scaledBy: problem.ridge).values
    }

    public func solutionJVP(_ v: [Double]) -> [Double] { solutionVJP(v) }

    public func parametersVJP(_ u: [Double]) -> SyntheticSetCotangent {
        let m = problem.count
        let u = Matrix(rows: m, columns: problem.classes, values: u)
        let ua = u.dot(coefficients)
        var g = u.multipliedTransposed(by: coefficients)
        for j in 0..<m { g[j, j] += problem.l2 / Double(m) * ua }
        let images = problem.gramVJP(cotangent: g).scaled(by: 1 / problem.standardisation.std)
        return SyntheticSetCotangent(images: images, labels: u.scaled(by: -1), l2: problem.meanDiagonal * ua)
    }

    public func parametersJVP(_ tangent: SyntheticSetTangent) -> [Double] {
        let m = problem.count
        let kDot = problem.kernel.gramJVP(problem.standardised, tangent: tangent.images.scaled(by: 1 / problem.standardisation.std))
        var traceDot = 0.0
        for j in 0..<m { traceDot += kDot[j, j] }
        let rDot = tangent.l2 * problem.meanDiagonal + problem.l2 * traceDot / Double(m)
        return kDot.multiplied(by: coefficients)
            .adding(coefficients, scaledBy: rDot)
            .adding(tangent.labels, scaledBy: -1)
            .values
    }
}
