import Foundation
import Testing
import DistillIO
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// Distill's whole chain (inner solve, outer pass, implicit hypergradient) on
/// real MNIST against the independent float64 computation in Fixtures/ (a dense
/// Newton solve and a Cholesky factorisation of the full 7840 x 7840 Hessian).
///
/// Tolerances: the inner problem and the linear solve are in Double and solved
/// to 1e-12 relative, so the inner solution must agree to 1e-9. The outer pass
/// runs in Float32 inside blocks of rows, accumulated in Double across blocks:
/// with 784-term float sums each logit carries a relative error near 1e-7,
/// which bounds the loss error at about 1e-7 relative and the gradient's at a
/// few 1e-7. We hold 1e-6 on the loss and 1e-5 (relative, Frobenius) on the
/// outer gradient and the hypergradient: ten times the error budget, and ten
/// thousand times smaller than the effect of stopping the inner solve at 1e-2.
@Suite(.serialized) struct ReferenceHypergradientTests {
    struct Reference {
        let images: Matrix, innerSolution: Matrix, outerGradient: Matrix, hypergradient: Matrix
        let l2: Double, outerLoss: Double
        let coordinates: [[Int]], steps: [Double], differences: [[Double]]
    }

    static func load(_ variant: String) throws -> Reference {
        let folder = TestSupport.packageRoot() + "/Tests/DistillTests/Fixtures/"
        func matrix(_ name: String, rows: Int, columns: Int) throws -> Matrix {
            let array = try IDX.read(contentsOf: folder + "\(variant)-\(name)")
            return Matrix(rows: rows, columns: columns, values: array.doubles())
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "\(variant).json"))) as? [String: Any]
        let check = try #require(json?["finite_difference_check"] as? [String: Any])
        return Reference(
            images: try matrix("synthetic-images-idx3-double", rows: 10, columns: 784),
            innerSolution: try matrix("inner-solution-idx2-double", rows: 784, columns: 10),
            outerGradient: try matrix("outer-gradient-idx2-double", rows: 784, columns: 10),
            hypergradient: try matrix("hypergradient-idx3-double", rows: 10, columns: 784),
            l2: try #require(json?["l2"] as? Double), outerLoss: try #require(json?["outer_loss"] as? Double),
            coordinates: try #require(check["coordinates_image_pixel"] as? [[Int]]),
            steps: try #require(check["steps"] as? [Double]),
            differences: try #require(check["central_differences"] as? [[Double]]))
    }

    @Test(arguments: ["noise784", "noise28"])
    func matchesTheIndependentFloat64Computation(variant: String) throws {
        let reference = try Self.load(variant)
        let (train, _) = try TestSupport.mnist()
        let labels = TestSupport.oneHot(Array(0..<10), classes: 10)
        let problem = SoftmaxRegression(images: reference.images, labels: labels, l2: reference.l2)

        let inner = NewtonCG(relativeTolerance: 1e-12).solve(problem)
        #expect(inner.converged)
        #expect(TestSupport.relativeError(inner.weights.values, reference.innerSolution.values) < 1e-9)

        let outer = OuterPass(data: train, threads: 2).evaluate(weights: inner.weights.values, gradient: true)
        #expect(abs(outer.loss - reference.outerLoss) < 1e-6 * reference.outerLoss)
        #expect(TestSupport.relativeError(outer.gradient, reference.outerGradient.values) < 1e-5)

        let hyper = Hypergradient(problem: problem, solution: inner,
                                  outerGradient: Matrix(rows: 784, columns: 10, values: outer.gradient),
                                  solver: ConjugateGradient(tolerance: 1e-12))
        #expect(hyper.solve.converged)
        let error = TestSupport.relativeError(hyper.cotangent.images.values, reference.hypergradient.values)
        #expect(error < 1e-5, "hypergradient relative error \(error)")

        // The fixture's own central differences (re-solving the inner problem on
        // each side) at h = 1e-4, for the sampled coordinates.
        let h = try #require(reference.steps.firstIndex(of: 1e-4))
        for (k, coordinate) in reference.coordinates.enumerated() {
            let ours = hyper.cotangent.images[coordinate[0], coordinate[1]]
            let theirs = reference.differences[k][h]
            #expect(abs(ours - theirs) < 1e-4 * abs(theirs) + 1e-9, "image \(coordinate[0]) pixel \(coordinate[1])")
        }
    }

    /// Why the inner tolerance matters: stopped early, the same chain is visibly wrong.
    @Test func anEarlyStoppedInnerSolveGivesAWrongHypergradient() throws {
        let reference = try Self.load("noise28")
        let (train, _) = try TestSupport.mnist()
        let problem = SoftmaxRegression(images: reference.images, labels: TestSupport.oneHot(Array(0..<10), classes: 10), l2: reference.l2)
        let inner = NewtonCG(relativeTolerance: 1e-12, maxIterations: 1).solve(problem)
        #expect(!inner.converged)
        let outer = OuterPass(data: train, threads: 2).evaluate(weights: inner.weights.values, gradient: true)
        let hyper = Hypergradient(problem: problem, solution: inner,
                                  outerGradient: Matrix(rows: 784, columns: 10, values: outer.gradient),
                                  solver: ConjugateGradient(tolerance: 1e-12))
        #expect(TestSupport.relativeError(hyper.cotangent.images.values, reference.hypergradient.values) > 1e-3)
    }
}
