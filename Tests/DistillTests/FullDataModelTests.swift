import Foundation
import Testing
import DistillNumerics
import _TestSupport
@testable import Distill
import DistillImages

/// Whether the slow checks on all of MNIST run: always in release builds (a few
/// seconds), in debug builds only with DISTILL_SLOW_TESTS=1 (the C kernel is not
/// optimised there: about 1 s per pass, several minutes in all).
let slowTestsEnabled: Bool = {
    #if DEBUG
    return ProcessInfo.processInfo.environment["DISTILL_SLOW_TESTS"] == "1"
    #else
    return true
    #endif
}()

@Suite struct FullDataModelTests {
    /// Small separable-ish data (3 classes, 12 features): L-BFGS on the fused outer
    /// pass must land on the minimiser that Newton-CG finds on the same objective
    /// written as a `SoftmaxRegression` over all the points.
    /// The logistic ceiling stops between L-BFGS iterations when asked, and then
    /// gives no result (its weights are not the minimiser).
    @Test func theLogisticCeilingStopsWhenAsked() {
        let data = SyntheticClusters.make(count: 240, features: 12, classes: 3, spread: 0.3, seed: 5,
                                          centres: TestSupport.randomMatrix(3, 12, seed: 6, scale: 0.3))
        var asked = 0
        let stopped = FullDataModel(train: data, l2: 1e-2, threads: 2, stopRequested: { asked += 1; return asked > 2 })
        #expect(stopped.optimisation.stopped && stopped.optimisation.iterations == 2)
        #expect(LogisticModel.ceiling(model: LogisticModel(solver: NewtonCG(relativeTolerance: 1e-9)), train: data, test: data, l2: 1e-2, threads: 2, stopRequested: { true }) == nil)
        #expect(LogisticModel.ceiling(model: LogisticModel(solver: NewtonCG(relativeTolerance: 1e-9)), train: data, test: data, l2: 1e-2, threads: 2, stopRequested: { false }) != nil)
    }

    @Test func agreesWithNewtonCGOnTheSameObjective() {
        let data = SyntheticClusters.make(count: 240, features: 12, classes: 3, spread: 0.3, seed: 5,
                                          centres: TestSupport.randomMatrix(3, 12, seed: 6, scale: 0.3))
        let model = FullDataModel(train: data, l2: 1e-2, threads: 2, relativeTolerance: 1e-5)
        #expect(model.converged)
        let images = Matrix(rows: data.count, columns: data.features, values: data.floatPixels(of: Array(0..<data.count)).map(Double.init))
        let labels = TestSupport.oneHot(data.labels.map(Int.init), classes: 3)
        let newton = NewtonCG(relativeTolerance: 1e-12).solve(SoftmaxRegression(images: images, labels: labels, l2: 1e-2))
        // Float32 logits in the pass and the 1e-5 certificate limit the agreement to about 1e-5.
        let error = TestSupport.relativeError(model.weights.values, newton.weights.values)
        #expect(error < 1e-4, "relative error \(error)")
    }
}

/// The full-data ceiling on all of MNIST against the figures measured in issue 3
/// (92.64% at L2 1e-4, 86.96% at L2 1e-1), within 0.1 point. SLOW in debug builds:
/// see `slowTestsEnabled`.
@Suite(.serialized, .enabled(if: slowTestsEnabled, "slow: runs in release builds or with DISTILL_SLOW_TESTS=1"))
struct FullDataModelMNISTTests {
    @Test(arguments: [(1e-1, 0.8696), (1e-4, 0.9264)])
    func reproducesTheIssuesCeiling(l2: Double, expected: Double) throws {
        let (train, test) = try TestSupport.mnist()
        let model = FullDataModel(train: train, l2: l2, threads: 2)
        #expect(model.converged, "gradient norm \(model.gradientNorm) above \(model.optimisation.tolerance)")
        let accuracy = Evaluation(weights: model.weights, on: test, threads: 2).accuracy
        #expect(abs(accuracy - expected) <= 0.001, "test accuracy \(accuracy) at L2 \(l2)")
    }
}

/// Labelled points around one random centre per class (float pixels, scale 1).
enum SyntheticClusters {
    static func make(count: Int, features: Int, classes: Int, spread: Double, seed: UInt64,
                     centres: Matrix? = nil) -> LabeledImages {
        var random = SplitMix64(seed: seed)
        let centres = centres ?? TestSupport.randomMatrix(classes, features, seed: seed &+ 1)
        var pixels = [Float](), labels = [Int32]()
        for i in 0..<count {
            let c = i % classes
            labels.append(Int32(c))
            for q in 0..<features { pixels.append(Float(centres[c, q] + spread * random.nextNormal())) }
        }
        return LabeledImages(pixels: .floats(pixels), scale: 1, labels: labels, features: features, classes: classes)
    }
}
