import Foundation
import Testing
import DistillIO
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// The NNGP and NTK kernels, kernel ridge predictions, KIP loss and the
/// hypergradients in the support images and targets, against neural-tangents
/// 0.6.5 in float64 on real MNIST (Fixtures/ntk, see its README).
///
/// Tolerances: both sides are float64 end to end. The kernels are a few dozen
/// operations per entry after a 784-term dot product: 1e-12 relative off the
/// diagonal (measured: 2e-15). On the diagonal the NTK's K̇ = (π - arccos c)/2π
/// is evaluated by neural-tangents at the rounded cosine c = 1 - O(1e-16), where
/// arccos is O(1e-8) (√ε): its diagonal differs from the exact closed form by
/// about 1e-8 relative per layer (measured 1e-8 at depth 1, 3e-8 at depth 3),
/// so the NTK diagonal is held to 1e-7, and
/// the NTK predictions, loss and gradients, which carry that difference through
/// the solve with `K + 1e-6 tr(K)/m I`, to 1e-6 (measured: up to 7e-8). NNGP has
/// no K̇: everything is held to 1e-8 (round-off through the solve). A wrong
/// factor or a missing derivative term changes them at order 1.
@Suite struct NeuralKernelReferenceTests {
    static let folder = TestSupport.packageRoot() + "/Tests/DistillTests/Fixtures/ntk/"

    static func matrix(_ name: String, rows: Int, columns: Int) throws -> Matrix {
        let array = try IDX.read(contentsOf: folder + name)
        return Matrix(rows: rows, columns: columns, values: array.doubles())
    }

    static func reference() throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "reference.json")))
        return try #require(json as? [String: Any])
    }

    @Test(arguments: ["nngp-depth1", "nngp-depth3", "ntk-depth1", "ntk-depth3"])
    func matchesNeuralTangents(case name: String) throws {
        let kind: NeuralKernelKind = name.hasPrefix("ntk") ? .ntk : .nngp
        let depth = name.hasSuffix("3") ? 3 : 1
        let json = try Self.reference()
        let kernel = NeuralKernel(kind: kind, depth: depth, weightVariance: try #require(json["W_var"] as? Double),
                                  biasVariance: try #require(json["b_var"] as? Double))
        let cases = try #require(json["cases"] as? [String: Any])
        let expectedLoss = try #require((cases[name] as? [String: Any])?["loss"] as? Double)

        let support = try Self.matrix("support-images-idx3-double", rows: 20, columns: 784)
        let supportTargets = try Self.matrix("support-targets-idx2-double", rows: 20, columns: 10)
        let targets = try Self.matrix("target-images-idx3-double", rows: 50, columns: 784)
        let targetTargets = try Self.matrix("target-targets-idx2-double", rows: 50, columns: 10)
        let labels = (0..<50).map { i in (0..<10).max { targetTargets[i, $0] < targetTargets[i, $1] } ?? 0 }

        // The images are already standardised: the identity standardisation.
        let problem = NeuralKernelRidgeRegression(images: support, labels: supportTargets, l2: 1e-6,
                                                  kernel: kernel, standardisation: .identity)
        let kss = try Self.matrix("\(name)-kernel-support-support-idx2-double", rows: 20, columns: 20)
        let kts = try Self.matrix("\(name)-kernel-target-support-idx2-double", rows: 50, columns: 20)
        var offDiagonal = problem.gram, referenceOffDiagonal = kss
        for j in 0..<20 { offDiagonal[j, j] = 0; referenceOffDiagonal[j, j] = 0 }
        let gram = DerivativeCheck.report(name, [("K_ss off the diagonal", offDiagonal.values, referenceOffDiagonal.values)])
        // neural-tangents evaluates the diagonal with the generic formula, where the
        // rounded cosine 1 - O(1e-16) gives arccos = O(1e-8): the generic formula
        // reproduces it, the closed form (c = 1 exactly) differs by that much.
        let generic = DerivativeCheck.report(name, [("K_ss generic", kernel.matrix(support, support).values, kss.values)])
        let diagonal = DerivativeCheck.report(name, [("K_ss closed-form diagonal", (0..<20).map { problem.gram[$0, $0] }, (0..<20).map { kss[$0, $0] })])
        let cross = DerivativeCheck.report(name, [("K_ts", kernel.matrix(targets, support).values, kts.values)])
        #expect(gram < 1e-12)
        #expect(cross < 1e-12)
        #expect(diagonal < (kind == .ntk ? 1e-7 : 1e-12))
        #expect(generic < (kind == .ntk ? 1e-7 : 1e-12))

        let alpha = try #require(problem.solution())
        #expect(problem.residual(alpha).norm <= 1e-10 * supportTargets.norm)
        let outer = problem.outerLoss(on: targets, labels: labels, coefficients: alpha, loss: .meanSquaredError)
        let prediction = try Self.matrix("\(name)-prediction-idx2-double", rows: 50, columns: 10)
        // NTK: the reference's diagonal carries the 1e-8 round-off above, which the
        // solve amplifies (cond(K + r I) ~ 1e2..1e3 on the affected directions).
        let tolerance = kind == .ntk ? 1e-6 : 1e-8
        #expect(DerivativeCheck.report(name, [("prediction", outer.predictions.values, prediction.values)]) < tolerance)
        #expect(abs(outer.loss - expectedLoss) < tolerance * expectedLoss)

        let condition = NeuralKernelRidgeCondition(problem: problem, coefficients: alpha)
        let hyper = Hypergradient(condition: condition, outerGradient: outer.coefficientGradient.values,
                                  explicitImageGradient: outer.imageGradient, solver: CholeskySolver(tolerance: 1e-12))
        #expect(hyper.solve.converged)
        let dImages = try Self.matrix("\(name)-gradient-support-images-idx3-double", rows: 20, columns: 784)
        let dTargets = try Self.matrix("\(name)-gradient-support-targets-idx2-double", rows: 20, columns: 10)
        let error = DerivativeCheck.report(name, [("dL/dS", hyper.cotangent.images.values, dImages.values),
                                                  ("dL/dT", hyper.cotangent.labels.values, dTargets.values)])
        #expect(error < tolerance)
    }
}
