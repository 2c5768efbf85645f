import Foundation
import DistillNumerics
import Testing
import _TestSupport
@testable import DistillNetworks

/// The training loop: it learns, it is deterministic, and random real MNIST images
/// train a network far above chance.
struct TrainingTests {
    /// Two classes of 8x8 one-channel images: a bright left or right half, plus noise.
    static func halves(count: Int, seed: UInt64) throws -> (NetworkImages, [Int32]) {
        var random = SplitMix64(seed: seed)
        var pixels = [Float](), labels = [Int32]()
        for i in 0..<count {
            let label = Int32(i % 2)
            for _ in 0..<8 {
                for x in 0..<8 {
                    let bright = (x < 4) == (label == 0)
                    pixels.append(Float((bright ? 0.8 : 0.1) + 0.1 * random.nextNormal()))
                }
            }
            labels.append(label)
        }
        return (try NetworkImages(pixels: pixels, count: count, height: 8, width: 8, channels: 1), labels)
    }

    static func quick(epochs: Int) -> TrainingProtocol {
        var settings = TrainingProtocol()
        settings.epochs = epochs
        settings.pixelMean = [0.45]
        settings.pixelStd = [0.35]
        return settings
    }

    // Width 16: the Float ConvNet keeps its data in nChw16c (Winograd); width 8: NHWC.
    @Test(arguments: [NetworkSpec.convNet(width: 8, depth: 2), .convNet(width: 16, depth: 2), .mlp(width: 16), .ntkMLP(width: 64)])
    func learnsASeparableProblem(_ spec: NetworkSpec) throws {
        let (train, labels) = try Self.halves(count: 20, seed: 31)
        let (test, testLabels) = try Self.halves(count: 200, seed: 32)
        let result = try NetworkEvaluation.evaluate(train: train, labels: .classes(labels), test: test, testLabels: testLabels,
                                                    classes: 2, network: spec, protocol: Self.quick(epochs: 60), seeds: [1])
        #expect(result.testAccuracies[0] > 0.95, "\(spec.kind) \(result.testAccuracies)")
    }

    @Test(arguments: [NetworkLoss.crossEntropy, .meanSquaredError])
    func learnsFromSoftLabels(_ loss: NetworkLoss) throws {
        let (train, labels) = try Self.halves(count: 20, seed: 33)
        let (test, testLabels) = try Self.halves(count: 200, seed: 34)
        let soft = labels.flatMap { $0 == 0 ? [Float(0.8), 0.2] : [0.2, 0.8] }
        var settings = Self.quick(epochs: 60)
        settings.softLabelLoss = loss
        let result = try NetworkEvaluation.evaluate(train: train, labels: .soft(soft), test: test, testLabels: testLabels,
                                                    classes: 2, network: .mlp(width: 16), protocol: settings, seeds: [2])
        #expect(result.testAccuracies[0] > 0.95)
    }

    @Test(arguments: [8, 16])   // NHWC and nChw16c (see ConvNet.blocked)
    func sameSeedSameAccuracy(width: Int) throws {
        let (train, labels) = try Self.halves(count: 30, seed: 35)
        let (test, testLabels) = try Self.halves(count: 300, seed: 36)
        var settings = Self.quick(epochs: 3)   // few epochs: accuracies far from saturated, seeds distinguishable
        settings.augmentation = .dsa(Augmentation())
        settings.batchSize = 16
        func run(_ seeds: [UInt64]) throws -> [Double] {
            try NetworkEvaluation.evaluate(train: train, labels: .classes(labels), test: test, testLabels: testLabels,
                                           classes: 2, network: .convNet(width: width, depth: 2), protocol: settings,
                                           seeds: seeds).testAccuracies
        }
        let first = try run([7, 8, 9]), second = try run([7, 8, 9])
        #expect(first == second)
        // The seed matters: the trained parameters differ.
        let net = ConvNet<Float>(channels: 1, height: 8, width: 8, classes: 2, networkWidth: width, depth: 2)
        let trainer = NetworkTrainer(network: net, settings: settings, centred: false, channels: 1, height: 8, width: 8)
        let x = train.normalised(mean: [0.45], std: [0.35])
        let t = labels.flatMap { $0 == 0 ? [Float(1), 0] : [0, 1] }
        let a = trainer.train(images: x, targets: t, count: 30, loss: .crossEntropy, seed: 7).parameters
        let b = trainer.train(images: x, targets: t, count: 30, loss: .crossEntropy, seed: 7).parameters
        let c = trainer.train(images: x, targets: t, count: 30, loss: .crossEntropy, seed: 8).parameters
        #expect(a == b)
        #expect(a != c)
    }

    /// Random real MNIST images, 10 per class, DC's MLP under DC's protocol, tested
    /// on the first 2,000 test images: far above the 10% of chance.
    @Test func randomRealMNISTBeatsChance() throws {
        let mnist = try TestSupport.mnist()
        var random = SplitMix64(seed: 41)
        var byClass = [[Int]](repeating: [], count: 10)
        for (i, label) in mnist.train.labels.enumerated() { byClass[Int(label)].append(i) }
        let picked = byClass.flatMap { indices in (0..<10).map { _ in indices[Int(random.next() % UInt64(indices.count))] } }
        let train = mnist.train.subset(picked), test = mnist.test.subset(Array(0..<2000))
        let result = try NetworkEvaluation.evaluate(train: train, test: test, height: 28, width: 28, channels: 1,
                                                    network: .mlp(), seeds: [1])
        print("random real 10/class, MLP, 2,000 test images: \(result.testAccuracies)")
        #expect(result.testAccuracies[0] > 0.5)
    }

    /// Mean squared error with a learning rate far beyond the stable 2/L: the
    /// iterates grow geometrically to ±inf, then NaN. The evaluation says so per
    /// seed, does not test those networks, and leaves them out of the mean; the
    /// same problem at DC's rate trains normally.
    @Test(arguments: [NetworkSpec.mlp(width: 16), .convNet(width: 4, depth: 1)])
    func divergedTrainingIsReported(_ spec: NetworkSpec) throws {
        let (train, labels) = try Self.halves(count: 20, seed: 38)
        let (test, testLabels) = try Self.halves(count: 60, seed: 39)
        let soft = labels.flatMap { $0 == 0 ? [Float(0.8), 0.2] : [0.2, 0.8] }
        var settings = Self.quick(epochs: 40)
        settings.softLabelLoss = .meanSquaredError
        func evaluate(_ rate: Double) throws -> NetworkEvaluationResult {
            settings.learningRate = rate
            return try NetworkEvaluation.evaluate(train: train, labels: .soft(soft), test: test, testLabels: testLabels,
                                                  classes: 2, network: spec, protocol: settings, seeds: [1, 2])
        }
        let bad = try evaluate(1e4)
        #expect(bad.diverged == [true, true], "\(bad.divergedAtEpoch)")
        #expect(bad.divergedAtEpoch.allSatisfy { ($0 ?? 0) >= 1 && ($0 ?? 41) <= 40 })
        #expect(bad.testAccuracies.allSatisfy(\.isNaN) && bad.testAccuracyMean.isNaN && bad.testAccuracyStd.isNaN)

        let good = try evaluate(0.01)
        #expect(good.diverged == [false, false] && good.divergedAtEpoch == [nil, nil])
        #expect(good.testAccuracyMean.isFinite && good.testAccuracies.allSatisfy { $0 > 0.9 })

        // Mixed seeds: the mean and std are over the finite ones only.
        let mixed = good.appending(bad)
        #expect(mixed.divergedSeeds == [1, 2] && mixed.seeds == [1, 2, 1, 2])
        #expect(mixed.testAccuracyMean == good.testAccuracyMean && mixed.testAccuracyStd == good.testAccuracyStd)
        // The flags survive JSON (NaN written as "nan").
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let text = String(decoding: try encoder.encode(mixed), as: UTF8.self)
        #expect(text.contains("\"diverged\":[false,false,true,true]"))
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let back = try decoder.decode(NetworkEvaluationResult.self, from: Data(text.utf8))
        #expect(back.divergedAtEpoch == mixed.divergedAtEpoch && back.diverged == mixed.diverged)
    }

    @Test func badInputIsRejectedInOneLine() throws {
        let (train, labels) = try Self.halves(count: 4, seed: 37)
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        let wrongCount = message {
            _ = try NetworkEvaluation.evaluate(train: train, labels: .classes(Array(labels.prefix(3))), test: train,
                                               testLabels: labels, classes: 2, network: .mlp(), seeds: [1])
        }
        #expect(wrongCount == "training labels: expected 4 (one per image), found 3")
        let outOfRange = message {
            _ = try NetworkEvaluation.evaluate(train: train, labels: .classes([0, 1, 2, 0]), test: train,
                                               testLabels: labels, classes: 2, network: .mlp(), seeds: [1])
        }
        #expect(outOfRange == "training labels: expected classes in 0..<2, found 2")
        let shape = message { _ = try NetworkImages(pixels: [0, 1, 2], count: 1, height: 2, width: 2, channels: 1) }
        #expect(shape == "images: expected 1 x 2x2x1 = 4 pixel values, found 3")
        let tooSmall = message {
            _ = try NetworkEvaluation.evaluate(train: train, labels: .classes(labels), test: train, testLabels: labels,
                                               classes: 2, network: .convNet(depth: 4), protocol: Self.quick(epochs: 1), seeds: [1])
        }
        #expect(tooSmall.hasPrefix("ConvNet: expected images large enough for 4 blocks"))
    }
}
