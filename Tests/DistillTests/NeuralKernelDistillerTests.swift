import Testing
import DistillNumerics
import _TestSupport
@testable import Distill

/// End to end on an MNIST subset: the NTK model distilled at 10 images per
/// class (from real images, λ = 1e-3, learning rate 0.1, no pull) beats the linear
/// logistic model distilled with its defaults, on
/// held-back test images. (Subset sizes keep it to a few seconds.)
@Suite struct NeuralKernelDistillerTests {
    @Test func ntkBeatsTheLogisticModelAtTenImagesPerClass() throws {
        // Measured on 1,000 held-out training images, never on the test split.
        let (train, _) = try TestSupport.mnist()
        let smallTrain = train.subset(Array(0..<3000)), smallTest = train.subset(Array(3000..<4000))
        func accuracy(_ model: String) throws -> Double {
            var configuration = DistillerConfiguration()
            configuration.imagesPerClass = 10
            configuration.steps = 20
            configuration.model = model
            configuration.learningRate = 0.02
            if model == "ntk" { configuration.l2 = 1e-3; configuration.initialisation = .real; configuration.learningRate = 0.1; configuration.pull = 0 }
            var distiller = try Distiller(train: smallTrain, configuration: configuration)
            var records: [StepRecord] = []
            for _ in 0..<configuration.steps { records.append(distiller.step(clock: { 0 })) }
            #expect(records.allSatisfy { $0.innerConverged && $0.linearSolveConverged && $0.trainLoss.isFinite })
            let fit = distiller.solveInner()
            return distiller.evaluate(fit, on: smallTest).accuracy
        }
        let ntk = try accuracy("ntk"), logistic = try accuracy("logistic")
        print("10/class on a 3000-image subset: NTK test accuracy \(ntk), logistic \(logistic)")
        #expect(ntk > logistic)
    }
}
