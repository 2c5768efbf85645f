import DistillImages
import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// Every derivative of the NNGP / NTK kernels and of their kernel ridge inner
/// model against central finite differences, including the cone where the
/// cosine reaches ±1 (duplicated and negated images).
///
/// Tolerances: central differences with step h have truncation error O(h²)
/// (1e-10 relative at h = 1e-5) and round-off O(ε/h) (1e-11), so 1e-6 holds
/// smooth derivatives with margin. At a cone point (c = ±1, duplicated or
/// collinear images) the central difference of the cone's |h| part is zero (it
/// is symmetric), but t(h) = arccos c(h) also carries an h|h| part, which
/// leaves a truncation error O(h), and each side evaluates arccos at
/// 1 - c = O(h²), where the rounding of c costs ε/h in t: round-off O(ε/h²).
/// Measured on the Gram VJP: 1e-7 at h = 1e-4, 3e-6 at 1e-5, 3e-4 at 1e-6,
/// 4e-2 at 1e-7. So the cone cases use h = 1e-5 (or 1e-4) and are held to 1e-4,
/// still far below what a missing or wrong term gives (order 1).
@Suite struct NeuralKernelDerivativeTests {
    static let kernels: [NeuralKernel] = [
        NeuralKernel(kind: .ntk, depth: 3, weightVariance: 2, biasVariance: 0.05),
        NeuralKernel(kind: .nngp, depth: 2, weightVariance: 1.7, biasVariance: 0.1),
        NeuralKernel(kind: .ntk, depth: 1, weightVariance: 2, biasVariance: 0),
    ]
    let m = 5, p = 6, classes = 3

    /// A support set with image 3 a copy of image 1 (c = 1 off the diagonal) and
    /// image 4 = 1.3 image 0 (collinear: c = 1 exactly without bias variance).
    /// (Points merely near the cone are tested on the entry, with steps well
    /// inside their distance to it: a difference step larger than that distance
    /// straddles a kink on the scale of the step and measures nothing.)
    func supportImages(duplicated: Bool) -> Matrix {
        var s = TestSupport.randomMatrix(m, p, seed: 301, scale: 0.8)
        guard duplicated else { return s }
        for k in 0..<p {
            s[3, k] = s[1, k]
            s[4, k] = 1.3 * s[0, k]
        }
        return s
    }

    @Test(arguments: 0..<3)
    func entryGradientMatchesFiniteDifferences(kernelIndex: Int) {
        let kernel = Self.kernels[kernelIndex]
        let qx1 = 1.3, qy1 = 0.9
        // Interior cosines and cosines near ±1 (1 - c² down to 1e-8).
        let limit = (qx1 * qy1).squareRoot()
        for c in [0.3, -0.6, 0.9999, 1 - 1e-8, -(1 - 1e-8)] where kernel.biasVariance == 0 || c > -0.9 {
            let sigma1 = c * limit
            func f(_ v: [Double]) -> Double {
                kernel.value(firstLayer: v[0], kernel.variances(firstLayer: v[1]), kernel.variances(firstLayer: v[2]))
            }
            let g = kernel.gradient(firstLayer: sigma1, kernel.variances(firstLayer: qx1), kernel.variances(firstLayer: qy1))
            // Steps well inside 1 - |c|, so both sides stay on the smooth part.
            let h = min(1e-5, (1 - abs(c)) * 1e-2)
            let numeric = TestSupport.centralDifferences(of: f, at: [sigma1, qx1, qy1], step: h)
            let error = DerivativeCheck.report("\(kernel.kind) depth \(kernel.depth) c=\(c)", [("entry", [g.sigma1, g.qx1, g.qy1], numeric)])
            #expect(error < 1e-5)
            #expect([g.sigma1, g.qx1, g.qy1].allSatisfy { $0.isFinite })
        }
    }

    @Test(arguments: 0..<3)
    func diagonalMatchesTheRecursionAndItsDerivative(kernelIndex: Int) {
        let kernel = Self.kernels[kernelIndex]
        let q1 = 1.7
        let closed = kernel.diagonal(firstLayer: q1)
        let q = kernel.variances(firstLayer: q1)
        #expect(abs(closed.value - kernel.value(firstLayer: q1, q, q)) < 1e-12 * closed.value)
        let numeric = TestSupport.centralDifferences(of: { kernel.diagonal(firstLayer: $0[0]).value }, at: [q1], step: 1e-5)
        #expect(DerivativeCheck.report("diagonal", [("d/dq1", [closed.derivative], numeric)]) < 1e-8)
    }

    /// `gramVJP` and `gramJVP` against differences of `⟨G, K(S, S)⟩`, with and
    /// without duplicated / collinear images.
    @Test(arguments: [(0, false), (0, true), (1, true), (2, true)])
    func gramDerivativesMatchFiniteDifferences(kernelIndex: Int, duplicated: Bool) {
        let kernel = Self.kernels[kernelIndex]
        var s = supportImages(duplicated: duplicated)
        if kernelIndex == 2 { for k in 0..<p { s[2, k] = -s[0, k] } }   // c = -1 (no bias)
        let g = TestSupport.randomMatrix(m, m, seed: 302)
        func f(_ v: [Double]) -> Double { kernel.gram(Matrix(rows: m, columns: p, values: v)).dot(g) }
        let vjp = kernel.gramVJP(s, cotangent: g)
        let h = 1e-5
        let numeric = TestSupport.centralDifferences(of: f, at: s.values, step: h)
        #expect(vjp.values.allSatisfy { $0.isFinite })
        let tangent = TestSupport.randomMatrix(m, p, seed: 303)
        let jvp = kernel.gramJVP(s, tangent: tangent)
        let numericJVP = DerivativeCheck.directional({ kernel.gram(s.adding(tangent, scaledBy: $0)).values }, step: h)
        let tolerance = duplicated ? 1e-4 : 1e-6
        let error = DerivativeCheck.report("gram \(kernel.kind) duplicated=\(duplicated)",
                                           [("VJP", vjp.values, numeric), ("JVP", jvp.values, numericJVP)])
        #expect(error < tolerance)
    }

    @Test(arguments: [0, 1])
    func matrixVJPMatchesFiniteDifferences(kernelIndex: Int) {
        let kernel = Self.kernels[kernelIndex]
        let x = TestSupport.randomMatrix(7, p, seed: 304)
        var s = supportImages(duplicated: true)
        for k in 0..<p { s[2, k] = x[4, k] }   // a support image equal to a point: c = 1
        let g = TestSupport.randomMatrix(7, m, seed: 305)
        let vjp = kernel.matrixVJP(x, s, cotangent: g)
        let numeric = TestSupport.centralDifferences(of: { kernel.matrix(x, Matrix(rows: m, columns: p, values: $0)).dot(g) },
                                                     at: s.values, step: 1e-4)
        #expect(DerivativeCheck.report("matrix \(kernel.kind)", [("VJP", vjp.values, numeric)]) < 1e-4)
    }

    func problem(_ s: Matrix, _ t: Matrix, _ l2: Double, kernel: NeuralKernel) -> NeuralKernelRidgeRegression {
        NeuralKernelRidgeRegression(images: s, labels: t, l2: l2, kernel: kernel,
                                    standardisation: PixelStandardisation(mean: 0.13, std: 0.31))
    }

    /// The condition's parameter maps (through the standardisation and r = λ tr(K)/m).
    @Test(arguments: [(0, false), (0, true), (1, false)])
    func conditionMapsMatchFiniteDifferences(kernelIndex: Int, duplicated: Bool) {
        let kernel = Self.kernels[kernelIndex]
        let s = supportImages(duplicated: duplicated)
        let t = TestSupport.randomMatrix(m, classes, seed: 306)
        let l2 = 0.05
        let alpha = TestSupport.randomMatrix(m, classes, seed: 307)
        let u = TestSupport.randomMatrix(m, classes, seed: 308)
        let condition = NeuralKernelRidgeCondition(problem: problem(s, t, l2, kernel: kernel), coefficients: alpha)
        let h = 1e-5
        let vjpError = DerivativeCheck.compare("condition VJP \(kernel.kind)", condition.parametersVJP(u.values),
                                               with: { problem($0, $1, $2, kernel: kernel).residual(alpha).dot(u) },
                                               at: s, t, l2, step: h)
        #expect(vjpError < (duplicated ? 1e-4 : 1e-6))
        let d = DerivativeCheck.direction(images: m, features: p, classes: classes, seed: 309)
        let numeric = DerivativeCheck.directional({ h in
            let (s1, t1, l1) = DerivativeCheck.moved(s, t, l2, along: d, by: h)
            return problem(s1, t1, l1, kernel: kernel).residual(alpha).values
        }, step: h)
        #expect(DerivativeCheck.report("condition JVP", [("JVP", condition.parametersJVP(d), numeric)]) < (duplicated ? 1e-4 : 1e-6))
        let v = TestSupport.randomMatrix(m, classes, seed: 310)
        let av = condition.solutionVJP(v.values)
        let numericA = DerivativeCheck.directional({ problem(s, t, l2, kernel: kernel).residual(alpha.adding(v, scaledBy: $0)).values })
        #expect(DerivativeCheck.report("condition A", [("A v", av, numericA)]) < 1e-8)
    }

    /// The outer loss's gradients at fixed α (both losses), and the whole
    /// hypergradient against differences of the loss of the re-solved model.
    @Test(arguments: [KernelOuterLoss.meanSquaredError, .crossEntropy])
    func outerLossAndHypergradientMatchFiniteDifferences(loss kind: KernelOuterLoss) throws {
        let kernel = Self.kernels[0]
        let s = supportImages(duplicated: true)
        let t = TestSupport.oneHot([0, 1, 2, 0, 1], classes: classes).adding(TestSupport.randomMatrix(m, classes, seed: 311, scale: 0.2))
        let x = TestSupport.randomMatrix(9, p, seed: 312)
        let y = (0..<9).map { $0 % classes }
        let l2 = 0.03
        let base = problem(s, t, l2, kernel: kernel)
        let alpha = try #require(base.solution())
        let outer = base.outerLoss(on: x, labels: y, coefficients: alpha, loss: kind)
        let dAlpha = TestSupport.centralDifferences(of: {
            base.outerLoss(on: x, labels: y, coefficients: Matrix(rows: m, columns: classes, values: $0), loss: kind).loss
        }, at: alpha.values, step: 1e-5)
        let dS = TestSupport.centralDifferences(of: {
            problem(Matrix(rows: m, columns: p, values: $0), t, l2, kernel: kernel).outerLoss(on: x, labels: y, coefficients: alpha, loss: kind).loss
        }, at: s.values, step: 1e-4)
        #expect(DerivativeCheck.report("outer \(kind)", [("dα", outer.coefficientGradient.values, dAlpha),
                                                         ("explicit dS", outer.imageGradient.values, dS)]) < 1e-4)

        let hyper = Hypergradient(condition: NeuralKernelRidgeCondition(problem: base, coefficients: alpha),
                                  outerGradient: outer.coefficientGradient.values, explicitImageGradient: outer.imageGradient,
                                  solver: CholeskySolver(tolerance: 1e-12))
        let error = DerivativeCheck.compare("hypergradient \(kind)", hyper.cotangent, with: { s1, t1, l1 in
            let p1 = problem(s1, t1, l1, kernel: kernel)
            guard let a1 = p1.solution() else { return .nan }
            return p1.outerLoss(on: x, labels: y, coefficients: a1, loss: kind).loss
        }, at: s, t, l2, step: 1e-5, l2Step: 1e-5)
        #expect(error < 1e-4)
    }
}
