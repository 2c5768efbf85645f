import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// What an NTK / NNGP outer step shares and splits: the Gram matrix and its VJP
/// are the same bits on any number of threads; the model's condition and
/// implicit solver on a fit's kept problem are the same bits as on one built
/// anew; and a kept problem that is not the fit's is not used.
@Suite struct NeuralKernelSharingTests {
    static let kernel = NeuralKernel(kind: .ntk, depth: 2, weightVariance: 2, biasVariance: 0.01)
    static let standardisation = PixelStandardisation(mean: 0.13, std: 0.31)
    /// Enough images for two and three threads (`rowsPerThread`).
    let m = 310, p = 20, classes = 4

    func images(seed: UInt64) -> Matrix {
        var s = TestSupport.randomMatrix(m, p, seed: seed, scale: 0.5)
        for k in 0..<p { s[7, k] = s[3, k] }   // a duplicate: c = 1 off the diagonal
        return s
    }

    @Test(arguments: [2, 3, 8])
    func gramAndItsVJPAreTheSameBitsOnAnyThreadCount(threads: Int) {
        let kernel = Self.kernel
        let s = images(seed: 801)
        let g = TestSupport.randomMatrix(m, m, seed: 802)
        let dots = s.multipliedTransposed(by: s), q1 = kernel.firstLayerVariances(s)
        #expect(kernel.gram(dots: dots, firstLayer: q1, features: p, threads: threads) == kernel.gram(s))
        #expect(kernel.gramVJP(s, dots: dots, firstLayer: q1, cotangent: g, threads: threads) == kernel.gramVJP(s, cotangent: g))
        // A cotangent with zero entries (skipped) and a zero row.
        var sparse = g
        for j in 0..<m { for k in 0..<m where (j * 7 + k) % 3 == 0 || j == 11 || k == 11 { sparse[j, k] = 0 } }
        #expect(kernel.gramVJP(s, dots: dots, firstLayer: q1, cotangent: sparse, threads: threads)
                == kernel.gramVJP(s, cotangent: sparse))
    }

    @Test func aProblemOnMoreThreadsIsTheSameBits() throws {
        let s = images(seed: 803), t = TestSupport.randomMatrix(m, classes, seed: 804)
        let one = NeuralKernelRidgeRegression(images: s, labels: t, l2: 0.01, kernel: Self.kernel,
                                              standardisation: Self.standardisation, threads: 1)
        let two = NeuralKernelRidgeRegression(images: s, labels: t, l2: 0.01, kernel: Self.kernel,
                                              standardisation: Self.standardisation, threads: 2)
        #expect(one.threads == 1 && two.threads == 2)
        #expect(one.gram == two.gram)
        #expect(one.gram == Self.kernel.gram(Self.standardisation.apply(s)))
        let alpha = try #require(one.solution())
        #expect(alpha == two.solution())
        let u = TestSupport.randomMatrix(m, classes, seed: 805).values
        let a = NeuralKernelRidgeCondition(problem: one, coefficients: alpha).parametersVJP(u)
        let b = NeuralKernelRidgeCondition(problem: two, coefficients: alpha).parametersVJP(u)
        #expect(a.images == b.images && a.labels == b.labels && a.l2 == b.l2)
    }

    /// The hypergradient from a fit that keeps its problem equals the one from the
    /// same fit without it, bit for bit; a fit carrying another problem (other
    /// images, labels or λ) gets its own.
    @Test func theKeptProblemIsUsedOnlyForItsOwnFit() throws {
        let model = NeuralKernelModel(kernel: Self.kernel, standardisation: Self.standardisation, threads: 2)
        let s = images(seed: 806), t = TestSupport.randomMatrix(m, classes, seed: 807)
        let fit = model.fit(images: s, labels: t, l2: 0.02, from: nil)
        let kept = try #require(fit.cache as? NeuralKernelRidgeRegression)
        #expect(fit.converged)
        let bare = InnerFit(images: fit.images, labels: fit.labels, l2: fit.l2, parameters: fit.parameters,
                            iterations: fit.iterations, gradientNorm: fit.gradientNorm, tolerance: fit.tolerance)
        let loss = ModelLoss(loss: 0, correct: 0, parameterGradient: TestSupport.randomMatrix(m, classes, seed: 808).values,
                             imageGradient: TestSupport.randomMatrix(m, p, seed: 809))
        let settings = LinearSolveSettings(tolerance: 1e-10, maxIterations: 10)
        func hypergradient(_ fit: InnerFit) -> Hypergradient {
            model.hypergradient(at: fit, loss: loss, solver: model.linearSolver(at: fit, settings: settings))
        }
        let shared = hypergradient(fit), fresh = hypergradient(bare)
        #expect(shared.solve.converged)
        #expect(shared.cotangent.images == fresh.cotangent.images)
        #expect(shared.cotangent.labels == fresh.cotangent.labels && shared.cotangent.l2 == fresh.cotangent.l2)
        #expect(shared.adjoint == fresh.adjoint)

        // Another problem kept in a fit that is not its own: ignored.
        let otherImages = images(seed: 810)
        for (images, labels, l2) in [(otherImages, t, 0.02), (s, t.scaled(by: 2), 0.02), (s, t, 0.03)] {
            let other = model.fit(images: images, labels: labels, l2: l2, from: nil)
            let mixed = InnerFit(images: other.images, labels: other.labels, l2: other.l2, parameters: other.parameters,
                                 iterations: 0, gradientNorm: other.gradientNorm, tolerance: other.tolerance, cache: kept)
            let bareOther = InnerFit(images: other.images, labels: other.labels, l2: other.l2, parameters: other.parameters,
                                     iterations: 0, gradientNorm: other.gradientNorm, tolerance: other.tolerance)
            let a = hypergradient(mixed), b = hypergradient(bareOther)
            #expect(a.cotangent.images == b.cotangent.images && a.cotangent.l2 == b.cotangent.l2)
            #expect(a.cotangent.images != shared.cotangent.images)
            let problem = model.condition(at: mixed).problem
            #expect(problem.images == images && problem.labels == labels && problem.l2 == l2)
        }
    }
}
