import Foundation
import Testing
import DistillNumerics
import _TestSupport
@testable import Distill
import DistillImages

/// `--batch N` (issue 15, item 3): each outer step takes its loss and
/// hypergradient on N training images drawn uniformly without replacement, by
/// a generator seeded from the run's seed and the step's number only.
@Suite struct OuterBatchTests {
    // MARK: The draw

    @Test func theBatchOfAStepDependsOnlyOnTheSeedAndTheStep() {
        let count = 1000, size = 37
        for seed: UInt64 in [0, 1, 12345] {
            for step in [1, 2, 300] {
                let batch = OuterBatch.indices(seed: seed, step: step, size: size, count: count)
                #expect(batch == OuterBatch.indices(seed: seed, step: step, size: size, count: count))
                #expect(batch.count == size && Set(batch).count == size, "N distinct indices")
                #expect(batch.allSatisfy { (0..<count).contains($0) } && batch == batch.sorted())
            }
        }
        let first = OuterBatch.indices(seed: 0, step: 1, size: size, count: count)
        #expect(first != OuterBatch.indices(seed: 0, step: 2, size: size, count: count), "another step, another batch")
        #expect(first != OuterBatch.indices(seed: 1, step: 1, size: size, count: count), "another seed, another batch")
        // A batch of all the images is the training set, in its order.
        #expect(OuterBatch.indices(seed: 3, step: 4, size: 50, count: 50) == Array(0..<50))
        #expect(OuterBatch.indices(seed: 3, step: 4, size: 1, count: 1) == [0])
    }

    /// The 20 subsets of 3 of 6 images are drawn equally often: over 20,000 steps
    /// each is expected 1,000 times; Pearson's statistic (19 degrees of freedom)
    /// stays below 43.8, its 0.1% upper tail. A biased bounded draw (modulo
    /// bias) or a skewed selection (an index never or always chosen) fails.
    @Test func everySubsetIsEquallyLikely() {
        var counts: [[Int]: Int] = [:]
        let steps = 20_000
        for step in 1...steps { counts[OuterBatch.indices(seed: 7, step: step, size: 3, count: 6), default: 0] += 1 }
        #expect(counts.count == 20)
        let expected = Double(steps) / 20
        let chiSquare = counts.values.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chiSquare < 43.8, "\(counts)")
        // Each image is in half of the batches.
        for i in 0..<6 {
            let with = counts.filter { $0.key.contains(i) }.values.reduce(0, +)
            #expect(abs(Double(with) / Double(steps) - 0.5) < 0.02)
        }
    }

    @Test func theBoundedDrawIsInRangeAndUniform() {
        var random = SplitMix64(seed: 11)
        var counts = [Int](repeating: 0, count: 3)
        for _ in 0..<30_000 { counts[Int(OuterBatch.below(3, using: &random))] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 400 }, "\(counts)")
        for bound: UInt64 in [1, 2, 7, UInt64.max] {
            for _ in 0..<100 { #expect(OuterBatch.below(bound, using: &random) < bound) }
        }
    }

    // MARK: The batch's hypergradient

    static func configuration(model: String, batch: Int?) throws -> DistillerConfiguration {
        var c = try InnerModels.defaultConfiguration(model: model)
        c.imagesPerClass = 2
        c.steps = 4
        c.threads = 2
        c.pull = 0
        c.initialisation = .mean
        c.batch = batch
        return c
    }

    /// A step with `--batch` is the full-set step on its batch: a distiller on
    /// that subset of the training images (same model, same state) takes the
    /// same step, bit for bit, for two steps (two different batches). Every
    /// model, and the unrolled hypergradient ("unrolled").
    @Test(arguments: InnerModels.names + ["unrolled"])
    func aBatchedStepIsTheFullStepOnItsBatch(model: String) throws {
        let train = smallTrainingSet(count: 90, features: 16)
        func configuration(batch: Int?) throws -> DistillerConfiguration {
            guard model == "unrolled" else { return try Self.configuration(model: model, batch: batch) }
            var c = try Self.configuration(model: LogisticModel.modelName, batch: batch)
            c.hypergradient = .unrolled
            c.unrollSteps = 20
            return c
        }
        var batched = try Distiller(train: train, configuration: configuration(batch: 25))
        var batches: [[Int]] = []
        for step in 1...2 {
            let indices = OuterBatch.indices(seed: batched.configuration.seed, step: step, size: 25, count: train.count)
            batches.append(indices)
            var full = try Distiller(train: train.subset(indices), configuration: configuration(batch: nil),
                                     model: batched.model)
            try full.restore(batched.state)
            let fullRecord = full.step(clock: { 0 })
            let batchedRecord = batched.step(clock: { 0 })
            #expect(batchedRecord == fullRecord)
            #expect(batched.state == full.state)
        }
        #expect(batches[0] != batches[1])
    }

    /// A batch of all n images is the training set in its order: the same steps
    /// as no batch, bit for bit.
    @Test func aBatchOfTheWholeSetIsNoBatch() throws {
        let train = smallTrainingSet(count: 60, features: 16)
        var batched = try Distiller(train: train, configuration: Self.configuration(model: LogisticModel.modelName, batch: 60))
        var full = try Distiller(train: train, configuration: Self.configuration(model: LogisticModel.modelName, batch: nil))
        for _ in 0..<3 { #expect(batched.step(clock: { 0 }) == full.step(clock: { 0 })) }
        #expect(batched.state == full.state)
    }

    /// Unbiased: on n = 6 images with N = 3, the mean over the 20 subsets (each
    /// equally likely, `everySubsetIsEquallyLikely`) of the batch's outer loss
    /// and hypergradient at a fixed inner solution equals the full set's, for a
    /// linear model (hypergradient through `∂L/∂W*` only) and a kernel model
    /// (with the explicit `∂L/∂S`). Summing instead of averaging over the batch,
    /// or an estimate that is not linear in the per-image gradients, fails.
    @Test(arguments: [LogisticModel.modelName, NTKModel.modelName])
    func theBatchHypergradientIsUnbiased(model: String) throws {
        let train = smallTrainingSet(count: 6, features: 9, classes: 3, seed: 3)
        var c = try Self.configuration(model: model, batch: nil)
        c.imagesPerClass = 1
        var distiller = try Distiller(train: train, configuration: c)
        let fit = distiller.solveInner()
        func gradient(_ data: LabeledImages) -> OuterGradient {
            distiller.model.outerGradient(of: fit, on: OuterPass(data: data, threads: 1), linearSolve: c.linearSolve, warmAdjoint: nil)
        }
        let full = gradient(train)
        var subsets: [[Int]] = []
        for a in 0..<6 { for b in (a + 1)..<6 { for d in (b + 1)..<6 { subsets.append([a, b, d]) } } }
        #expect(subsets.count == 20)
        var loss = 0.0
        var images = [Double](repeating: 0, count: full.cotangent.images.values.count)
        var labels = [Double](repeating: 0, count: full.cotangent.labels.values.count)
        var l2 = 0.0
        for subset in subsets {
            let g = gradient(train.subset(subset))
            loss += g.loss / 20
            for k in images.indices { images[k] += g.cotangent.images.values[k] / 20 }
            for k in labels.indices { labels[k] += g.cotangent.labels.values[k] / 20 }
            l2 += g.cotangent.l2 / 20
        }
        // Float32 inside the passes: agreement to about 1e-6 relative.
        #expect(abs(loss - full.loss) <= 1e-6 * abs(full.loss))
        #expect(TestSupport.relativeError(images, full.cotangent.images.values) < 1e-5)
        #expect(TestSupport.relativeError(labels, full.cotangent.labels.values) < 1e-5)
        #expect(abs(l2 - full.cotangent.l2) <= 1e-5 * abs(full.cotangent.l2))
        // One batch alone is not the full gradient (the test can tell them apart).
        #expect(TestSupport.relativeError(gradient(train.subset(subsets[0])).cotangent.images.values, full.cotangent.images.values) > 1e-3)
    }

    @Test func aBatchOutsideTheTrainingSetIsRefused() throws {
        let train = smallTrainingSet(count: 30, features: 16)
        for batch in [0, -1, 31] {
            var c = DistillerConfiguration()
            c.batch = batch
            #expect(throws: InitialisationError(description: "the outer batch must hold 1 to 30 training images, got \(batch)")) {
                _ = try Distiller(train: train, configuration: c)
            }
        }
    }

    /// Checkpoints written before `batch` existed still decode, as no batch.
    @Test func aConfigurationWithoutBatchDecodesAsNoBatch() throws {
        let json = #"{"imagesPerClass":1,"steps":300,"learningRate":0.02,"l2":0.1,"seed":0,"initialisation":"mean","innerTolerance":1e-06,"linearSolveTolerance":1e-08,"linearSolveMaxIterations":1000,"threads":2,"learnLabels":true,"labelLearningRate":0.02,"learnL2":true,"l2LearningRate":0.02,"pixelRange":"unit","schedule":"cosine","pull":0.012,"model":"logistic","hypergradient":"implicit","unrollSteps":100,"kernelDepth":3,"weightVariance":2,"biasVariance":0.01,"outerLoss":"mse"}"#
        let decoded = try JSONDecoder().decode(DistillerConfiguration.self, from: Data(json.utf8))
        #expect(decoded == DistillerConfiguration())
        var c = DistillerConfiguration()
        c.batch = 500
        #expect(try JSONDecoder().decode(DistillerConfiguration.self, from: JSONEncoder().encode(c)).batch == 500)
    }
}
