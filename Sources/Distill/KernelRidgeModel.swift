import DistillImages
import DistillNumerics
import ImplicitDiff
#if canImport(Glibc)
import Glibc
#endif

/// Kernel ridge regression with the RBF kernel `exp(-γ ‖x - s‖²)`
/// (`KernelRidgeRegression`), solved in closed form, `α* = (K + λ m I)⁻¹ T`.
///
/// Its outer loss is the softmax cross-entropy of `K(X, S) α` over the training
/// set, computed by `KernelRidgeRegression.trainingSetLoss(on:coefficients:threads:gradient:)`
/// (Float32, on every thread): about `2 n m p` multiply-adds and `n m`
/// exponentials per step: 0.94 G multiply-adds for MNIST at 1 image per class
/// (m = 10) and 9.4 G at 10 (m = 100), against `2 n p C` = 0.94 G for the linear
/// pass at any m.
public struct KernelRidgeModel: ImplicitInnerModel {
    /// γ, held fixed.
    public var bandwidth: Double
    /// The certificate's relative tolerance (a closed form meets it to round-off).
    public var relativeTolerance: Double

    public init(bandwidth: Double, relativeTolerance: Double = 1e-6) {
        self.bandwidth = bandwidth
        self.relativeTolerance = relativeTolerance
    }

    public var name: String { Self.modelName }

    public func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (count, classes) }

    /// The closed form; when it fails (non-finite input) the start is returned,
    /// uncertified, and the step record shows it. `‖F(α)‖ = ‖(K + λ m I) α - T‖`,
    /// and `‖F(0)‖ = ‖T‖`.
    public func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let problem = KernelRidgeRegression(images: images, labels: labels, l2: l2, bandwidth: bandwidth)
        let alpha = problem.solution() ?? start ?? Matrix(zeros: problem.count, problem.classes)
        let condition = KernelRidgeCondition(problem: problem, coefficients: alpha)
        let residual = Matrix(rows: alpha.rows, columns: alpha.columns, values: condition.solutionVJP(alpha.values))
            .adding(labels, scaledBy: -1)
        return InnerFit(images: images, labels: labels, l2: l2, parameters: alpha, iterations: 0,
                        gradientNorm: residual.norm, tolerance: relativeTolerance * labels.norm)
    }

    /// 1: the objective `(1/2m) ‖K α - T‖² + (λ/2) αᵀ K α` is ridge regression in
    /// the kernel's feature space, whose mean squared norm is the mean of
    /// `k(s, s) = 1` (see `InnerModel.l2Scale`).
    public func l2Scale(images: Matrix) -> Double { 1 }

    public func condition(at fit: InnerFit) -> KernelRidgeCondition {
        KernelRidgeCondition(problem: problem(fit), coefficients: fit.parameters)
    }

    public func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss {
        let result = problem(fit).trainingSetLoss(on: pass.data, coefficients: fit.parameters,
                                                  threads: pass.threads, gradient: gradient)
        return ModelLoss(loss: result.loss, correct: result.correct,
                         parameterGradient: gradient ? result.coefficientGradient.values : [],
                         imageGradient: gradient ? result.imageGradient : nil)
    }

    private func problem(_ fit: InnerFit) -> KernelRidgeRegression {
        KernelRidgeRegression(images: fit.images, labels: fit.labels, l2: fit.l2, bandwidth: bandwidth)
    }
}

extension KernelRidgeModel: InnerModelFactory {
    public static let modelName = "kernel-ridge"
    public static let summary = "RBF kernel ridge regression in closed form, each step several times as long as the linear models' and longer with more images per class (docs/inner-models-and-unrolling.md)"

    /// γ from `configuration.kernelBandwidth`, else the median heuristic on `train`.
    public static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel {
        KernelRidgeModel(bandwidth: configuration.kernelBandwidth ?? KernelRidgeRegression.defaultBandwidth(for: train),
                         relativeTolerance: configuration.innerTolerance)
    }

    /// The RBF bandwidth γ and the linear solve's tolerance and iteration cap (conjugate gradient).
    public static func modelSettings(_ configuration: DistillerConfiguration) -> Set<DistillerConfiguration.CodingKeys> {
        [.kernelBandwidth, .linearSolveTolerance, .linearSolveMaxIterations]
    }

    /// The bandwidth γ `model` uses (the median heuristic's when none was given).
    public static func effectiveConfiguration(_ configuration: DistillerConfiguration, model: any InnerModel) -> DistillerConfiguration {
        var c = configuration
        if let model = model as? KernelRidgeModel { c.kernelBandwidth = model.bandwidth }
        return c
    }
}

extension KernelRidgeRegression {
    /// The median-heuristic bandwidth for `data`: `γ = 1 / mean ‖x_i - x_j‖²`
    /// over pairs of images, computed as `1 / (2 mean ‖x_i - x̄‖²)` in one pass
    /// (about 0.009 for MNIST, where images are about 10.6 apart). 1 for a set
    /// without spread.
    public static func defaultBandwidth(for data: LabeledImages) -> Double {
        let p = data.features
        var mean = [Double](repeating: 0, count: p)
        var squares = 0.0
        for i in 0..<data.count {
            let x = data.image(i)
            for k in 0..<p {
                mean[k] += x[k]
                squares += x[k] * x[k]
            }
        }
        let n = Double(max(1, data.count))
        let spread = squares / n - mean.reduce(0) { $0 + ($1 / n) * ($1 / n) }
        return spread > 0 && spread.isFinite ? 1 / (2 * spread) : 1
    }
}
