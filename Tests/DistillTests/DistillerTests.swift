import Testing
import DistillNumerics
import _TestSupport
@testable import Distill
import DistillImages

/// A small random labelled set: `count` images of `features` pixels in [0, 1].
func smallTrainingSet(count: Int = 300, features: Int = 36, classes: Int = 3, seed: UInt64 = 5) -> LabeledImages {
    var random = SplitMix64(seed: seed)
    let labels = (0..<count).map { Int32($0 % classes) }
    var pixels = [Float]()
    for i in 0..<count {
        // Each class lights up its own band of pixels, plus noise.
        let c = i % classes
        for k in 0..<features {
            let band = (k * classes / features) == c ? 0.6 : 0.1
            pixels.append(Float(min(1, max(0, band + 0.2 * random.nextNormal()))))
        }
    }
    return LabeledImages(pixels: .floats(pixels), scale: 1, labels: labels, features: features, classes: classes)
}

@Suite struct DistillerTests {
    func configuration() -> DistillerConfiguration {
        var c = DistillerConfiguration()
        c.imagesPerClass = 2
        c.steps = 6
        c.threads = 1
        c.learnLabels = true
        c.learnL2 = true
        c.pixelRange = .unit
        c.pull = 0.01
        c.initialisation = .mean
        return c
    }

    @Test func aRestoredStateContinuesBitForBit() throws {
        let train = smallTrainingSet()
        var straight = try Distiller(train: train, configuration: configuration())
        for _ in 0..<6 { _ = straight.step(clock: { 0 }) }

        var first = try Distiller(train: train, configuration: configuration())
        for _ in 0..<3 { _ = first.step(clock: { 0 }) }
        var resumed = try Distiller(train: train, configuration: configuration())
        try resumed.restore(first.state)
        for _ in 0..<3 { _ = resumed.step(clock: { 0 }) }

        #expect(resumed.state == straight.state)
        #expect(resumed.step == 6)
    }

    @Test func aStateOfAnotherShapeIsRefused() throws {
        let train = smallTrainingSet()
        var other = configuration()
        other.imagesPerClass = 3
        let source = try Distiller(train: train, configuration: other)
        var target = try Distiller(train: train, configuration: configuration())
        #expect(throws: InitialisationError.self) { try target.restore(source.state) }
    }

    @Test func clippedPixelsStayInTheUnitRange() throws {
        let train = smallTrainingSet()
        var c = configuration()
        c.learningRate = 0.5      // big steps push pixels out of range before the projection
        var distiller = try Distiller(train: train, configuration: c)
        for _ in 0..<5 { _ = distiller.step(clock: { 0 }) }
        #expect(distiller.images.values.allSatisfy { (0...1).contains($0) })
        #expect(distiller.images.values.contains { $0 == 0 || $0 == 1 })
    }

    @Test func theOuterObjectiveFallsOnASmallProblem() throws {
        let train = smallTrainingSet()
        var c = configuration()
        c.initialisation = .noise
        c.pixelRange = .unbounded
        c.pull = 0
        var distiller = try Distiller(train: train, configuration: c)
        let records = (0..<30).map { _ in distiller.step(clock: { 0 }) }
        #expect(records.allSatisfy { $0.innerConverged && $0.linearSolveConverged })
        #expect(records.last!.trainLoss < 0.5 * records.first!.trainLoss)
    }

    @Test func learnedL2StaysPositiveAndMoves() throws {
        let train = smallTrainingSet()
        var c = configuration()
        c.l2LearningRate = 0.1
        var distiller = try Distiller(train: train, configuration: c)
        for _ in 0..<10 { _ = distiller.step(clock: { 0 }) }
        #expect(distiller.l2 > 0 && distiller.l2 != c.l2)
    }
}
