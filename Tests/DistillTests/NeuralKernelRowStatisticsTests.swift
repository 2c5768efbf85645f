@testable import Distill
import DistillImages
import DistillNumerics
import Testing
import _TestSupport

/// The byte images' row statistics the fused pass is given once per image set
/// (`NeuralKernelPass.RowStatistics`: each image's Σx, Σx² and nonzero 16-pixel chunks)
/// instead of finding them in each call: the statistics against a plain count, the pass
/// given them against the pass that finds them itself (the same bits), and the model's
/// cache of them (`NeuralKernelRowCache`), which must never hand one image set's
/// statistics to a pass over another.
@Suite struct NeuralKernelRowStatisticsTests {
    /// Random bytes, `percent`% nonzero, `count` images of height x width.
    static func randomImages(count: Int, height: Int, width: Int, percent: UInt64, seed: UInt64) -> LabeledImages {
        var random = SplitMix64(seed: seed)
        let bytes = (0..<(count * height * width)).map { _ in random.next() % 100 < percent ? UInt8(1 + random.next() % 255) : 0 }
        return LabeledImages(pixels: .bytes(bytes), scale: 1 / 255, labels: (0..<count).map { Int32($0 % 10) },
                             shape: ImageShape(height: height, width: width), classes: 10)
    }

    /// The statistics counted plainly: integer sums, and a chunk's bit for each nonzero pixel.
    static func plainStatistics(_ data: LabeledImages) -> (sums: [Double], squares: [Double], chunks: [UInt64]) {
        guard case .bytes(let bytes) = data.pixels else { return ([], [], []) }
        let p = data.features, words = (p + 1023) / 1024
        var sums: [Double] = [], squares: [Double] = [], chunks = [UInt64](repeating: 0, count: data.count * words)
        for i in 0..<data.count {
            var s = 0, s2 = 0
            for k in 0..<p {
                let x = Int(bytes[i * p + k])
                s += x
                s2 += x * x
                if x != 0 { chunks[i * words + k / 1024] |= 1 << UInt64((k / 16) % 64) }
            }
            sums.append(Double(s))
            squares.append(Double(s2))
        }
        return (sums, squares, chunks)
    }

    /// Image sets with each case of the chunk words: p = 729 (a partial last chunk), 784,
    /// 2200 (three words, a partial last one) and 5000 (above the AVX-512 sums' 4096
    /// pixels: found portably), all-zero and all-nonzero images among them; 403 rows (not
    /// a multiple of the 96 rows the AVX-512 kernel takes at a time) on 1 and 3 threads.
    @Test func statisticsMatchAPlainCount() throws {
        let sets = [NeuralKernelSparsePassTests.chunkImages(count: 403, seed: 3),
                    NeuralKernelSparsePassTests.sparseImages(count: 403, seed: 4),
                    Self.randomImages(count: 403, height: 2, width: 1100, percent: 3, seed: 5),
                    Self.randomImages(count: 37, height: 1, width: 5000, percent: 1, seed: 6),
                    Self.randomImages(count: 50, height: 28, width: 28, percent: 100, seed: 7)]
        for data in sets {
            let plain = Self.plainStatistics(data)
            for kernel in [OuterPass.Kernel.automatic, .portable] {
                for threads in [1, 3] {
                    let found = try #require(NeuralKernelPass.RowStatistics(data: data, threads: threads, kernel: kernel))
                    #expect(found.sums == plain.sums, "p \(data.features), \(kernel), \(threads) threads: sums")
                    #expect(found.squares == plain.squares, "p \(data.features), \(kernel), \(threads) threads: squares")
                    #expect(found.chunks == plain.chunks, "p \(data.features), \(kernel), \(threads) threads: chunks")
                }
            }
        }
        let floats = LabeledImages(pixels: .floats([0.5, 0]), scale: 1, labels: [0], shape: ImageShape(height: 1, width: 2), classes: 2)
        #expect(NeuralKernelPass.RowStatistics(data: floats, threads: 1) == nil)
    }

    /// The pass given the statistics (found once) against the pass that finds them in each
    /// call: the same bits of the loss, the accuracy count and both gradients, with and
    /// without the gradient, for both losses, at the support counts whose AVX-512 sweep
    /// reads them (m <= 16: 1, 5, 10, 13, 16; pairs of rows up to 12, single rows above)
    /// and one that does not (m = 20), over zero chunks skipped and dense, on 2 threads
    /// (the second's rows start mid-set, so the statistics' row numbers are checked).
    @Test(arguments: [1, 5, 10, 13, 16, 20])
    func thePassGivenTheStatisticsGivesTheSameBits(m: Int) {
        let data = NeuralKernelSparsePassTests.sparseImages(count: 403, seed: UInt64(50 + m))
        let p = data.features
        var random = SplitMix64(seed: UInt64(60 + m))
        let support = (0..<(m * p)).map { _ in random.nextNormal() }
        let alpha = (0..<(m * data.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 2, weightVariance: 2, biasVariance: 0.01)
        for zeroPixels in [NeuralKernelPass.ZeroPixels.automatic, .dense] {
            let kept = NeuralKernelPass(data: data, threads: 2, zeroPixels: zeroPixels)
            let eachCall = NeuralKernelPass(data: data, threads: 2, zeroPixels: zeroPixels, rowStatistics: .eachCall)
            #expect(kept.rowStatistics != nil || !kept.usesAVX512)
            #expect(eachCall.rowStatistics == nil)
            for loss in [NeuralKernelPass.Loss.meanSquaredError, .crossEntropy] {
                for gradient in [true, false] {
                    func run(_ pass: NeuralKernelPass) -> NeuralKernelPassResult {
                        pass.evaluate(support: support, count: m, alpha: alpha, architecture: architecture, mean: 0.13,
                                      std: 0.31, loss: loss, gradient: gradient)
                    }
                    let (a, b) = (run(kept), run(eachCall))
                    let label = "m \(m), \(zeroPixels), \(loss), gradient \(gradient)"
                    #expect(a.loss.isFinite, "\(label)")
                    #expect(a.loss.bitPattern == b.loss.bitPattern, "\(label): loss")
                    #expect(a.correct == b.correct, "\(label): correct")
                    // Compared as one Bool each (a failure need not print thousands of bit patterns).
                    let sameAlpha = a.coefficientGradient.map(\.bitPattern) == b.coefficientGradient.map(\.bitPattern)
                    let sameSupport = a.supportGradient.map(\.bitPattern) == b.supportGradient.map(\.bitPattern)
                    #expect(sameAlpha, "\(label): ∂L/∂α")
                    #expect(sameSupport, "\(label): ∂L/∂U")
                    #expect(a.multiplyAdds == b.multiplyAdds, "\(label): multiply-adds")
                }
            }
        }
    }

    /// Statistics describe only the image set whose storage they were found from: a pass
    /// given another set's (even of the same shape and count) finds its own, and gives the
    /// bits of a pass that finds them itself.
    @Test func aPassGivenAnotherSetsStatisticsFindsItsOwn() throws {
        let first = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 41)
        let second = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 42)
        let statistics = try #require(NeuralKernelPass.RowStatistics(data: first, threads: 2))
        #expect(statistics.describe(first))
        #expect(!statistics.describe(second))
        guard case .bytes(let bytes) = first.pixels else { return }
        func images(_ pixels: [UInt8]) -> LabeledImages {
            LabeledImages(pixels: .bytes(pixels), scale: first.scale, labels: first.labels, shape: first.shape, classes: first.classes)
        }
        #expect(statistics.describe(images(bytes)))              // the same storage: arrays are shared, not copied
        #expect(!statistics.describe(images(bytes.map { $0 })))  // equal bytes in storage of their own
        let passOverSecond = NeuralKernelPass(data: second, threads: 2, rowStatistics: .given(statistics))
        if passOverSecond.usesAVX512 {
            #expect(passOverSecond.rowStatistics?.sums == Self.plainStatistics(second).sums)
            #expect(NeuralKernelPass(data: first, threads: 2, rowStatistics: .given(statistics)).rowStatistics?.sums == statistics.sums)
        }
        var random = SplitMix64(seed: 43)
        let m = 10, p = second.features
        let support = (0..<(m * p)).map { _ in random.nextNormal() }
        let alpha = (0..<(m * second.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 2, weightVariance: 2, biasVariance: 0.01)
        func run(_ pass: NeuralKernelPass) -> NeuralKernelPassResult {
            pass.evaluate(support: support, count: m, alpha: alpha, architecture: architecture, mean: 0.13, std: 0.31,
                          loss: .crossEntropy, gradient: true)
        }
        let ours = run(passOverSecond), own = run(NeuralKernelPass(data: second, threads: 2, rowStatistics: .eachCall))
        #expect(ours.loss.bitPattern == own.loss.bitPattern)
        let sameGradient = ours.supportGradient == own.supportGradient
        #expect(sameGradient)
    }

    /// The model's cache: the same pass twice gives the kept statistics (the same
    /// storage); another pass over other images of the same shape and count gets its
    /// own, and both stay kept while alive, up to the cache's capacity.
    @Test func theCacheKeepsEachLivePassesStatisticsAndNoOtherPasses() throws {
        let first = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 11)
        let second = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 12)
        let cache = NeuralKernelRowCache()
        func storage(_ s: NeuralKernelPass.RowStatistics?) -> UnsafePointer<Double>? { s?.sums.withUnsafeBufferPointer { $0.baseAddress } }
        let passA = OuterPass(data: first, threads: 2)
        let a1 = try #require(cache.statistics(for: passA))
        let a2 = try #require(cache.statistics(for: passA))
        #expect(storage(a1) == storage(a2))
        let passB = OuterPass(data: second, threads: 2)
        let b = try #require(cache.statistics(for: passB))
        #expect(b.sums == Self.plainStatistics(second).sums && b.chunks == Self.plainStatistics(second).chunks)
        let again = try #require(cache.statistics(for: passA))
        #expect(again.sums == Self.plainStatistics(first).sums && again.chunks == Self.plainStatistics(first).chunks)
        // Both passes alive (a benchmark's beside the distiller's): each keeps its own.
        #expect(storage(again) == storage(a1))
        let b2 = try #require(cache.statistics(for: passB))
        #expect(storage(b2) == storage(b))
        // More live passes than it keeps: the least recently used (passA) is found anew.
        let others = (0..<NeuralKernelRowCache.capacity).map { OuterPass(data: Self.randomImages(count: 20, height: 4, width: 4, percent: 50, seed: UInt64(30 + $0)), threads: 1) }
        for other in others { _ = cache.statistics(for: other) }
        let evicted = try #require(cache.statistics(for: passA))
        #expect(evicted.sums == a1.sums && storage(evicted) != storage(a1))
    }

    /// Through the model (its pass at 1 image per class: m = 10), alternating two training
    /// sets of the same shape and count, and a batch-like new pass each time: each loss and
    /// gradient has the bits a fresh model (nothing kept) gives on that set.
    @Test func theModelsPassOverAnotherSetIsNotGivenTheFirstSetsStatistics() throws {
        let first = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 21)
        let second = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 22)
        let kernel = NeuralKernel(kind: .ntk, depth: 2, weightVariance: 2, biasVariance: 0.01)
        func model() -> NeuralKernelModel {
            NeuralKernelModel(kernel: kernel, standardisation: .measured(on: first), outerLoss: .crossEntropy, threads: 2)
        }
        let images = TestSupport.randomMatrix(10, first.features, seed: 23, scale: 0.5)
        let labels = model().initialLabels(TestSupport.oneHot((0..<10).map { $0 }, classes: 10))
        let kept = model()
        let fit = kept.fit(images: images, labels: labels, l2: 1e-3, from: nil)
        let passA = OuterPass(data: first, threads: 2), passB = OuterPass(data: second, threads: 2)
        for (pass, name) in [(passA, "first"), (passB, "second"), (passA, "first again"),
                             (OuterPass(data: second, threads: 2), "second, a new pass")] {
            let ours = kept.loss(of: fit, on: pass, gradient: true)
            let fresh = model().loss(of: fit, on: pass, gradient: true)
            #expect(ours.loss.bitPattern == fresh.loss.bitPattern, "\(name): loss")
            let sameGradient = ours.imageGradient?.values == fresh.imageGradient?.values
            #expect(ours.imageGradient != nil && sameGradient, "\(name): image gradient")
        }
    }
}
