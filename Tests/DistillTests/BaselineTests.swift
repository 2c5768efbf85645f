import Foundation
import Testing
import DistillNumerics
import _TestSupport
@testable import Distill
import DistillImages

@Suite struct KMeansTests {
    /// Four tight clusters far apart, 50 points each: k-means++ and Lloyd find
    /// their centres and converge.
    @Test func recoversWellSeparatedCentres() {
        let centres: [[Float]] = [[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]]
        var random = SplitMix64(seed: 3)
        var points = [Float]()
        for i in 0..<200 {
            for q in 0..<3 { points.append(centres[i % 4][q] + Float(0.1 * random.nextNormal())) }
        }
        var seedRandom = SplitMix64(seed: 11)
        let result = KMeans(clusters: 4).fit(points, count: 200, features: 3, random: &seedRandom)
        #expect(result.converged)
        for centre in centres {
            var nearest: Float = .infinity
            for j in 0..<4 {
                var gap: Float = 0
                for q in 0..<3 { gap = max(gap, abs(result.centroids[j * 3 + q] - centre[q])) }
                nearest = min(nearest, gap)
            }
            #expect(nearest < 0.05, "no centroid near \(centre)")
        }
        // Points of one true cluster share one label.
        for i in 0..<200 { #expect(result.assignments[i] == result.assignments[i % 4]) }
    }

    @Test func isDeterministicForASeedAndIndependentOfThreads() throws {
        let data = SyntheticClusters.make(count: 300, features: 16, classes: 3, spread: 1.5, seed: 2)
        let a = try KMeans.classCentroids(of: data, perClass: 5, seed: 9, threads: 1)
        let b = try KMeans.classCentroids(of: data, perClass: 5, seed: 9, threads: 3)
        let c = try KMeans.classCentroids(of: data, perClass: 5, seed: 10, threads: 1)
        #expect(a == b)
        #expect(a != c)
        #expect(a.rows == 15 && a.columns == 16)
    }

    @Test func aClassWithTooFewImagesIsAnError() {
        let data = SyntheticClusters.make(count: 12, features: 4, classes: 3, spread: 1, seed: 1)
        #expect(throws: InitialisationError.self) { try KMeans.classCentroids(of: data, perClass: 5, seed: 0, threads: 2) }
    }
}

@Suite struct BaselineTests {
    /// Train and test must share the class centres.
    static func splits() -> (LabeledImages, LabeledImages) {
        let centres = TestSupport.randomMatrix(3, 20, seed: 100)
        return (SyntheticClusters.make(count: 300, features: 20, classes: 3, spread: 2.5, seed: 7, centres: centres),
                SyntheticClusters.make(count: 150, features: 20, classes: 3, spread: 2.5, seed: 8, centres: centres))
    }

    @Test func randomRealIsTheMeanAndSpreadOfItsDraws() throws {
        let (train, test) = Self.splits()
        let baselines = Baselines(train: train, test: test, threads: 2, model: LogisticModel(solver: NewtonCG(relativeTolerance: 1e-9)))
        let result = try baselines.randomReal(imagesPerClass: 2, l2: 0.1, seed: 4)
        #expect(result.name == "random_real" && result.draws == 5 && result.imagesPerClass == 2)

        // The same five draws by hand.
        var master = SplitMix64(seed: 4)
        var accuracies: [Double] = [], losses: [Double] = []
        for _ in 0..<5 {
            var random = SplitMix64(seed: master.next())
            let images = try Initialisation.real.images(from: train, imagesPerClass: 2, random: &random)
            let w = NewtonCG(relativeTolerance: 1e-9).solve(SoftmaxRegression(
                images: images, labels: TestSupport.oneHot([0, 0, 1, 1, 2, 2], classes: 3), l2: 0.1)).weights
            accuracies.append(Evaluation(weights: w, on: test, threads: 1).accuracy)
            losses.append(Evaluation(weights: w, on: train, threads: 1).loss)
        }
        let mean = accuracies.reduce(0, +) / 5
        let std = (accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4).squareRoot()
        #expect(abs(result.testAccuracy - mean) < 1e-12)
        #expect(abs((result.testAccuracyStd ?? -1) - std) < 1e-12)
        #expect(abs(result.trainLoss - losses.reduce(0, +) / 5) < 1e-12)
        #expect(std > 0, "five different draws should not all score the same")
        #expect(mean > 0.5, "well above chance (1/3) on clustered data")
    }

    /// The NNGP / NTK ceiling is measured with the run's model, as the baselines are:
    /// its training loss is the run's outer loss, its kernel the run's depth. On 300
    /// images (all of them in the ceiling's subset) with a tiny ridge the kernel
    /// predictor interpolates its targets e_y - 1/C, so the mean squared error is near 0
    /// and the cross-entropy of those predictions as logits is log(1 + (C - 1)/e).
    /// (The ceiling used to be evaluated with mean squared error and the default depth
    /// whatever the run's loss and depth: a near-0 training loss beside the
    /// baselines' cross-entropies.)
    @Test func theKernelCeilingTakesTheRunsLossAndKernel() throws {
        let (train, test) = Self.splits()
        func model(_ loss: KernelOuterLoss, depth: Int = 2) -> NeuralKernelModel {
            NeuralKernelModel(kernel: NeuralKernel(kind: .ntk, depth: depth, weightVariance: 2, biasVariance: 0.01),
                              standardisation: .measured(on: train), outerLoss: loss, threads: 2)
        }
        let crossEntropy = try #require(Baselines(train: train, test: test, threads: 2, model: model(.crossEntropy))
            .fullData(NTKModel.self, l2: 1e-9))
        let squared = try #require(Baselines(train: train, test: test, threads: 2, model: model(.meanSquaredError))
            .fullData(NTKModel.self, l2: 1e-9))
        let classes = Double(train.classes)
        #expect(abs(crossEntropy.trainLoss - log(1 + (classes - 1) / M_E)) < 1e-3, "cross-entropy \(crossEntropy.trainLoss)")
        #expect(squared.trainLoss < 1e-4, "mean squared error \(squared.trainLoss)")
        #expect(crossEntropy.testAccuracy == squared.testAccuracy)   // the same fit
        let shallow = try #require(NTKModel.ceiling(model: model(.meanSquaredError, depth: 1), train: train, test: test,
                                                    l2: 1e-9, threads: 2))
        let deep = try #require(NTKModel.ceiling(model: model(.meanSquaredError, depth: 4), train: train, test: test,
                                                 l2: 1e-9, threads: 2))
        #expect(shallow.test.loss != deep.test.loss)
        #expect(NTKModel.ceiling(model: LogisticModel(solver: NewtonCG(relativeTolerance: 1e-9)), train: train, test: test, l2: 1e-9, threads: 2) == nil)
    }

    /// The NTK ceiling asks `stopRequested` (as run's and sweep's baselines pass it
    /// on a signal) before its kernel matrix, before each block of rows of its
    /// dot products and of its kernel matrix, between its Cholesky factorisation's
    /// panels and before each block of its evaluation on the training and test
    /// images, and, stopped, gives no ceiling. (It used to ask between the panels
    /// only: a stop during the kernel against every image waited for its end, and
    /// one during the kernel matrix for the matrix.)
    @Test func theKernelCeilingStopsWhenAsked() throws {
        let (train, test) = Self.splits()
        let model = NeuralKernelModel(kernel: NeuralKernel(kind: .ntk, depth: 2, weightVariance: 2, biasVariance: 0.01),
                                      standardisation: .measured(on: train), outerLoss: .meanSquaredError, threads: 2)
        var asked = 0
        #expect(NTKModel.ceiling(model: model, train: train, test: test, l2: 1e-9, threads: 2,
                                 stopRequested: { asked += 1; return true }) == nil)
        #expect(asked == 1)
        asked = 0
        let whole = NTKModel.ceiling(model: model, train: train, test: test, l2: 1e-9, threads: 2,
                                     stopRequested: { asked += 1; return false })
        #expect(whole != nil && whole == NTKModel.ceiling(model: model, train: train, test: test, l2: 1e-9, threads: 2))
        let count = NeuralKernelCeiling.subsetCount(of: train), panels = (count + 31) / 32
        let kernelBlocks = 2 * ((count + NeuralKernelRidgeRegression.kernelBlockRows - 1) / NeuralKernelRidgeRegression.kernelBlockRows)
        #expect(asked == 1 + kernelBlocks + panels + 2)
        // Stopped as the evaluation starts (after the last panel).
        asked = 0
        #expect(NTKModel.ceiling(model: model, train: train, test: test, l2: 1e-9, threads: 2,
                                 stopRequested: { asked += 1; return asked > 1 + kernelBlocks + panels }) == nil)
        #expect(asked == 2 + kernelBlocks + panels)
        // Stopped during the dot products (their second block).
        asked = 0
        #expect(NTKModel.ceiling(model: model, train: train, test: test, l2: 1e-9, threads: 2,
                                 stopRequested: { asked += 1; return asked == 3 }) == nil)
        #expect(asked == 3)
    }

    /// The ceiling's evaluation in blocks of images gives the whole set's loss
    /// and accuracy, and stops before a block when asked.
    @Test func theKernelCeilingsEvaluationInBlocksIsTheWholeOne() throws {
        let (train, test) = Self.splits()
        let model = NeuralKernelModel(kernel: NeuralKernel(kind: .nngp, depth: 2, weightVariance: 2, biasVariance: 0.01),
                                      standardisation: .measured(on: test), outerLoss: .crossEntropy, threads: 2)
        let fit = model.fit(images: Matrix(rows: test.count, columns: test.features, values: (0..<test.count).flatMap { test.image($0) }),
                            labels: model.initialLabels(TestSupport.oneHot(test.labels.map { Int($0) }, classes: test.classes)), l2: 1e-3, from: nil)
        let whole = model.evaluate(fit, on: train, threads: 2)
        var asked = 0
        let blocks = try #require(NeuralKernelCeiling.evaluate(model, fit, on: train, threads: 2, block: 7,
                                                               stopRequested: { asked += 1; return false }))
        #expect(asked == (train.count + 6) / 7)
        #expect(abs(blocks.loss - whole.loss) < 1e-12 * max(1, whole.loss))
        #expect(blocks.accuracy == whole.accuracy)
        asked = 0
        #expect(NeuralKernelCeiling.evaluate(model, fit, on: train, threads: 2, block: 7, stopRequested: { asked += 1; return asked == 3 }) == nil)
        #expect(asked == 3)
    }

    @Test func meanAndStdByHand() {
        let (mean, std) = Baselines.meanAndStd([1, 2, 3, 4])
        #expect(mean == 2.5)
        #expect(abs(std - (5.0 / 3).squareRoot()) < 1e-15)
        #expect(Baselines.meanAndStd([7]) == (7, 0))
    }

    @Test func centroidsAndFullDataBeatChanceAndAreOrdered() throws {
        let (train, test) = Self.splits()
        let baselines = Baselines(train: train, test: test, threads: 2, model: LogisticModel(solver: NewtonCG(relativeTolerance: 1e-9)))
        let results = try baselines.all(imagesPerClass: 1, l2: 0.01, seed: 0, ceiling: LogisticModel.self)
        #expect(results.map(\.name) == ["random_real", "class_means", "full_data"])
        let kmeans = try baselines.centroids(imagesPerClass: 4, l2: 0.01, seed: 0)
        #expect(kmeans.name == "kmeans" && kmeans.testAccuracyStd == nil)
        // The full-data model minimises the training loss plus the same L2 term:
        // its training loss is the lowest.
        #expect(results[2].trainLoss < results[1].trainLoss && results[2].trainLoss < results[0].trainLoss)
        #expect(results[1].testAccuracy > 0.6 && results[2].testAccuracy > 0.6)
    }
}

@Suite struct ReadabilityTests {
    @Test func pearsonByHand() {
        // a = (1,2,3), b = (2,4,7): deviations (-1,0,1) and (-7/3,-1/3,8/3);
        // r = 5 / √(2 · 38/3) = 5 / √(76/3).
        let r = Readability.pearsonCorrelation([1, 2, 3], [2, 4, 7])
        #expect(abs(r - 5 / (76.0 / 3).squareRoot()) < 1e-15)
        #expect(Readability.pearsonCorrelation([1, 2, 3], [3, 2, 1]) == -1)
        #expect(Readability.pearsonCorrelation([1, 1, 1], [1, 2, 3]) == 0)
    }

    @Test func summariesByHand() {
        // Two class means; image 0 (class 1) is an affine copy of mean 1 (r = 1),
        // image 1 (class 0) is mean 0 reversed (r = -1), image 2 (class 0) has r = 5/√(76/3).
        let means = Matrix(rows: 2, columns: 3, values: [1, 2, 3, 0, 1, 0])
        let images = Matrix(rows: 3, columns: 3, values: [-1, 1, -1, 3, 2, 1, 2, 4, 7])
        let readability = Readability(images: images, classes: [1, 0, 0], classMeans: means)
        let r2 = 5 / (76.0 / 3).squareRoot()
        #expect(abs(readability.meanClassMeanCorrelation - (1 - 1 + r2) / 3) < 1e-15)
        #expect(readability.minimumClassMeanCorrelation == -1)
        // Outside [0, 1]: -1, -1, 3, 2, 2, 4, 7 (seven of nine; 1 and 1 are inside).
        #expect(readability.pixelsOutsideUnitRange == 7.0 / 9)
        #expect(readability.meanChannelCorrelations == nil)
    }

    @Test func perChannelCorrelationsByHand() throws {
        // One class, 3 pixels x 2 channels (HWC). Channel 0 of the image is an affine
        // copy of the mean's (r = 1), channel 1 its reverse (r = -1).
        let mean = Matrix(rows: 1, columns: 6, values: [1, 5, 2, 6, 3, 7])
        let image = Matrix(rows: 1, columns: 6, values: [10, 3, 20, 2, 30, 1])
        let readability = Readability(images: image, classes: [0], classMeans: mean, channels: 2)
        let channels = try #require(readability.meanChannelCorrelations)
        #expect(abs(channels[0] - 1) < 1e-15 && abs(channels[1] + 1) < 1e-15)
        // The overall r is over all six values, as for one channel.
        #expect(readability.meanClassMeanCorrelation == Readability.pearsonCorrelation(image.values, mean.values))
        // JSON keeps the existing keys and adds the channels.
        let json = String(decoding: try JSONEncoder().encode(readability), as: UTF8.self)
        #expect(json.contains("\"class_mean_correlation\"") && json.contains("\"channel_class_mean_correlation\""))
        #expect(try JSONDecoder().decode(Readability.self, from: Data(json.utf8)) == readability)
    }
}
