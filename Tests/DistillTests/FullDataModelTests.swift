import Testing
import DistillNumerics
import _TestSupport
@testable import Distill

/// The full-data ceiling on real MNIST, against the figures measured in issue 3.
@Suite(.serialized) struct FullDataModelTests {
    @Test(arguments: [(1e-1, 0.8696), (1e-4, 0.9264)])
    func reproducesTheIssuesCeiling(l2: Double, expected: Double) throws {
        let (train, test) = try TestSupport.mnist()
        let clock = ContinuousClock.now
        let model = FullDataModel(train: train, l2: l2, threads: 2)
        let accuracy = Evaluation(weights: model.weights, on: test, threads: 2).accuracy
        print("l2 \(l2): \(accuracy) it \(model.optimisation.iterations) ev \(model.optimisation.evaluations) |g| \(model.gradientNorm) tol \(model.optimisation.tolerance) \(ContinuousClock.now - clock)")
        #expect(model.converged)
        #expect(abs(accuracy - expected) <= 0.001)
    }
}
