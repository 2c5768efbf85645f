import Testing
import DistillImages
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// The NNGP / NTK problem's stoppable construction (the ceiling's): its dot
/// products and kernel matrix in blocks of rows, a stop asked before each
/// block; the same bits as the problem built in one piece, and the ceiling the
/// same bits as before it was blocked.
@Suite struct CeilingKernelBlocksTests {
    static let kernel = NeuralKernel(kind: .ntk, depth: 3, weightVariance: 2, biasVariance: 0.05)
    static let standardisation = PixelStandardisation(mean: 0.1, std: 0.4)

    /// A digest of a matrix's bits (FNV-1a over every entry's bit pattern).
    static func digest(_ values: [Double]) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for v in values { h = (h ^ v.bitPattern) &* 0x100000001b3 }
        return h
    }

    /// 700 training and 90 test points in 40 features, 4 classes.
    static func splits() -> (LabeledImages, LabeledImages) {
        let centres = TestSupport.randomMatrix(4, 40, seed: 500)
        return (SyntheticClusters.make(count: 700, features: 40, classes: 4, spread: 2.5, seed: 501, centres: centres),
                SyntheticClusters.make(count: 90, features: 40, classes: 4, spread: 2.5, seed: 502, centres: centres))
    }

    static func model(_ train: LabeledImages) -> NeuralKernelModel {
        NeuralKernelModel(kernel: kernel, standardisation: .measured(on: train), outerLoss: .crossEntropy, threads: 2)
    }

    @Test(arguments: [(40, 1, 1), (40, 2, 7), (40, 3, 32), (40, 2, 256), (40, 2, 1000), (10, 2, 7)])
    func theBlockedProblemIsTheSameBits(features: Int, threads: Int, blockRows: Int) throws {
        let m = 310, s = TestSupport.randomMatrix(m, features, seed: 503, scale: 0.5), t = TestSupport.randomMatrix(m, 3, seed: 504)
        let whole = NeuralKernelRidgeRegression(images: s, labels: t, l2: 0.01, kernel: Self.kernel,
                                                standardisation: Self.standardisation, threads: threads)
        var asked = 0
        let blocked = try #require(NeuralKernelRidgeRegression(images: s, labels: t, l2: 0.01, kernel: Self.kernel,
                                                               standardisation: Self.standardisation, threads: threads,
                                                               blockRows: blockRows, stopRequested: { asked += 1; return false }))
        #expect(blocked.dots == whole.dots)
        #expect(blocked.gram == whole.gram)
        #expect(blocked.factorization?.lower == whole.factorization?.lower && whole.factorization != nil)
        #expect(blocked.threads == whole.threads)
        // Before each block of the dot products (once for narrow images) and of the kernel matrix, and each panel.
        let blocks = (m + blockRows - 1) / blockRows
        #expect(asked == (features >= 16 ? blocks : 1) + blocks + (m + 31) / 32)
    }

    /// A stop during the dot products or the kernel matrix ends the construction
    /// at that block: asked once more, nothing after.
    @Test(arguments: [1, 4, 10, 11, 15, 20, 25])
    func aStopDuringTheKernelMatrixEndsItAtOnce(stopAtAsk: Int) {
        let m = 310, s = TestSupport.randomMatrix(m, 40, seed: 505, scale: 0.5), t = TestSupport.randomMatrix(m, 3, seed: 506)
        // 10 blocks of 32 rows of dot products (asks 1-10), 10 of the kernel matrix (11-20), 10 panels (21-30).
        var asked = 0
        let problem = NeuralKernelRidgeRegression(images: s, labels: t, l2: 0.01, kernel: Self.kernel,
                                                  standardisation: Self.standardisation, threads: 2, blockRows: 32,
                                                  stopRequested: { asked += 1; return asked >= stopAtAsk })
        #expect(problem == nil)
        #expect(asked == stopAtAsk)
    }

    /// The ceiling stopped at its kernel matrix's second block gives no ceiling at
    /// once; not stopped, it is the same bits as before the blocks (the figures
    /// printed by the code of e090a81 on this problem).
    @Test func theCeilingIsTheSameBitsAsBeforeAndStopsInItsKernelMatrix() throws {
        let (train, test) = Self.splits()
        let model = Self.model(train)
        var asked = 0
        #expect(NeuralKernelCeiling.evaluate(model: model, train: train, test: test, l2: 1e-4, threads: 2,
                                             stopRequested: { asked += 1; return asked == 3 }) == nil)
        #expect(asked == 3)   // before the kernel matrix, the dot products' first and second blocks
        asked = 0
        let pair = try #require(NeuralKernelCeiling.evaluate(model: model, train: train, test: test, l2: 1e-4, threads: 2,
                                                             stopRequested: { asked += 1; return false }))
        // Before the kernel matrix, 3 + 3 blocks of 256 rows, 22 panels, one evaluation block each for train and test.
        #expect(asked == 1 + 3 + 3 + 22 + 2)
        #expect([pair.train.loss, pair.train.accuracy, pair.test.loss, pair.test.accuracy].map(\.bitPattern)
                == [4604874785992369644, 4607182418800017408, 4607053311320370687, 4605681218924227243])
        let support = NeuralKernelCeiling.subset(of: train)
        var images = Matrix(zeros: support.count, support.features)
        for i in 0..<support.count { for k in 0..<support.features { images[i, k] = Double(support.image(i)[k]) } }
        var oneHot = Matrix(zeros: support.count, support.classes)
        for i in 0..<support.count { oneHot[i, Int(support.labels[i])] = 1 }
        let problem = try #require(model.problem(images: images, labels: model.initialLabels(oneHot), l2: 1e-4, stopRequested: { false }))
        let factor = try #require(problem.factorization)
        #expect([Self.digest(problem.dots.values), Self.digest(problem.gram.values), Self.digest(factor.lower)]
                == [12649646053589201401, 13236813618933322238, 2517056649886581292])
    }
}

@Suite struct TriangularChunksTests {
    /// A range's chunks cover it in order, near-equal in area; from 0 they are `triangularChunks(of: count)`'s.
    @Test func chunksOfARangeCoverItByArea() {
        for count in [0, 1, 5, 310, 10000] {
            for parts in [1, 2, 3] {
                #expect(Parallel.triangularChunks(of: 0..<count, parts: parts) == Parallel.triangularChunks(of: count, parts: parts))
            }
        }
        let chunks = Parallel.triangularChunks(of: 9744..<10000, parts: 2)
        #expect(chunks.first?.lowerBound == 9744 && chunks.last?.upperBound == 10000 && chunks.count == 2)
        #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        let areas = chunks.map { $0.reduce(0) { $0 + $1 + 1 } }
        #expect(abs(areas[0] - areas[1]) <= 10001)
    }
}
