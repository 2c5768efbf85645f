@testable import Distill
import DistillImages
@testable import DistillNumerics
import Testing
import _TestSupport

/// The byte images' row statistics the fused pass is given once per image set
/// (`NeuralKernelPass.RowStatistics`: each image's Σx, Σx² and nonzero 16-pixel chunks,
/// `OuterPass.rowStatistics`) instead of finding them in each call: the statistics
/// against a plain count, the pass given them against the pass that finds them itself
/// (the same bits), and each `OuterPass` finding them once, for its own images only.
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
            for threads in [1, 3] {
                let pass = OuterPass(data: data, threads: threads)
                // The chunk bits are the pass's chunk masks (AVX-512 only; the portable kernel has none).
                let chunks = pass.rowStatistics?.chunks ?? plain.chunks
                #expect(chunks == plain.chunks, "p \(data.features), \(threads) threads: chunks")
                for kernel in [OuterPass.Kernel.automatic, .portable] {
                    let found = try #require(NeuralKernelPass.RowStatistics(data: data, threads: threads, kernel: kernel,
                                                                            chunks: plain.chunks))
                    #expect(found.sums == plain.sums, "p \(data.features), \(kernel), \(threads) threads: sums")
                    #expect(found.squares == plain.squares, "p \(data.features), \(kernel), \(threads) threads: squares")
                }
            }
        }
        let floats = LabeledImages(pixels: .floats([0.5, 0]), scale: 1, labels: [0], shape: ImageShape(height: 1, width: 2), classes: 2)
        #expect(NeuralKernelPass.RowStatistics(data: floats, threads: 1, chunks: [1]) == nil)
        #expect(OuterPass(data: floats, threads: 1).rowStatistics == nil)
        #expect(OuterPass(data: sets[0], threads: 1, kernel: .portable).rowStatistics == nil)
    }

    /// The pass given the statistics (found once) against the pass that finds them in each
    /// call: the same bits of the loss, the accuracy count and both gradients, with and
    /// without the gradient, for both losses, at the support counts whose AVX-512 sweep
    /// reads them (m <= 16: 1, 5, 10, 13, 16; pairs of rows up to 12, single rows above)
    /// and one that does not (m = 20), over zero chunks skipped and dense (FMA loops) and on AMX tiles, on 2 threads
    /// (the second's rows start mid-set, so the statistics' row numbers are checked).
    @Test(arguments: [1, 5, 10, 13, 16, 20])
    func thePassGivenTheStatisticsGivesTheSameBits(m: Int) {
        let data = NeuralKernelSparsePassTests.sparseImages(count: 403, seed: UInt64(50 + m))
        let p = data.features
        var random = SplitMix64(seed: UInt64(60 + m))
        let support = (0..<(m * p)).map { _ in random.nextNormal() }
        let alpha = (0..<(m * data.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 2, weightVariance: 2, biasVariance: 0.01)
        for (zeroPixels, products) in [(NeuralKernelPass.ZeroPixels.automatic, NeuralKernelPass.Products.fusedMultiplyAdd),
                                       (.dense, .fusedMultiplyAdd), (.automatic, .automatic)] {
            let kept = NeuralKernelPass(pass: OuterPass(data: data, threads: 2), zeroPixels: zeroPixels, products: products)
            let eachCall = NeuralKernelPass(data: data, threads: 2, zeroPixels: zeroPixels, products: products)
            #expect(kept.rowStatistics != nil || !kept.usesAVX512)
            #expect(eachCall.rowStatistics == nil)
            for loss in [NeuralKernelPass.Loss.meanSquaredError, .crossEntropy] {
                for gradient in [true, false] {
                    func run(_ pass: NeuralKernelPass) -> NeuralKernelPassResult {
                        pass.evaluate(support: support, count: m, alpha: alpha, architecture: architecture, mean: 0.13,
                                      std: 0.31, loss: loss, gradient: gradient)
                    }
                    let (a, b) = (run(kept), run(eachCall))
                    let label = "m \(m), \(zeroPixels), \(products), \(loss), gradient \(gradient)"
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

    /// Each `OuterPass` finds its images' statistics once (the same object on every ask,
    /// from any thread, and in every pass made from it), and only its own: passes over
    /// two sets of the same shape and count, and a second pass over the same images,
    /// each get statistics of their own images, also under `.dense` (whose chunk masks
    /// are found only for these statistics).
    @Test func eachOuterPassFindsItsOwnStatisticsOnce() throws {
        let first = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 11)
        let second = Self.randomImages(count: 300, height: 28, width: 28, percent: 20, seed: 12)
        let passA = OuterPass(data: first, threads: 2)
        guard passA.usesAVX512 else { #expect(passA.rowStatistics == nil); return }
        // Asked for by 8 threads at once, first: one object.
        let asked = Parallel.map(parts: 8) { _ in ObjectIdentifier(passA.rowStatistics!) }
        #expect(Set(asked).count == 1)
        let a = try #require(passA.rowStatistics)
        #expect(ObjectIdentifier(a) == asked[0])
        #expect(NeuralKernelPass(pass: passA).rowStatistics === a)
        #expect(NeuralKernelPass(pass: passA, zeroPixels: .dense).rowStatistics === a)
        let plainA = Self.plainStatistics(first), plainB = Self.plainStatistics(second)
        #expect(a.sums == plainA.sums && a.squares == plainA.squares && a.chunks == plainA.chunks)
        for kernel in [OuterPass.ZeroPixels.automatic, .dense, .skipped] {
            let passB = OuterPass(data: second, threads: 2, kernel: .automatic, zeroPixels: kernel)
            let b = try #require(passB.rowStatistics)
            #expect(b !== a && passB.rowStatistics === b, "\(kernel)")
            #expect(b.sums == plainB.sums && b.squares == plainB.squares && b.chunks == plainB.chunks, "\(kernel)")
        }
        let passA2 = OuterPass(data: first, threads: 2)
        let a2 = try #require(passA2.rowStatistics)
        #expect(a2 !== a && a2.sums == a.sums && a2.chunks == a.chunks)
        #expect(passA.rowStatistics === a)
    }

    /// Through the model (its pass at 1 image per class: m = 10), alternating two training
    /// sets of the same shape and count, and a batch-like new pass: each loss and gradient
    /// has the bits a fresh model and a fresh pass (nothing kept) give on that set.
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
            let fresh = model().loss(of: fit, on: OuterPass(data: pass.data, threads: 2), gradient: true)
            #expect(ours.loss.bitPattern == fresh.loss.bitPattern, "\(name): loss")
            let sameGradient = ours.imageGradient?.values == fresh.imageGradient?.values
            #expect(ours.imageGradient != nil && sameGradient, "\(name): image gradient")
        }
    }
}
