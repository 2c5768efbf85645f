import CDistillKernels
import DistillImages
import DistillNumerics
import Foundation
import Testing

/// The fused pass's AMX-INT8 products and its vectorised cross-entropy, beyond the
/// Double-reference tests of `NeuralKernelPassTests` (which run both the tiles and the
/// FMA loops at every support count from 3 to 16).
@Suite struct NeuralKernelAMXTests {
    /// `distill_nk_exp_log` (the pass's e^x and log y) against glibc's exp and log:
    /// within 2 ulp of them at 20,000 points of [-745, 0] (e^x down to the subnormals) and of
    /// [1, 1e6] (a sum of at most 64 exponentials whose largest is 1 lies in [1, 64]), and
    /// exactly e^0 = 1 and log 1 = 0. Without AVX-512 the function declines (-1).
    @Test func expAndLogAreWithinTwoUlpOfGlibc() {
        var random = SplitMix64(seed: 5)
        var x: [Double] = [0, -1e-300, -0.5, -709, -745], y: [Double] = [1, 2, 10, 64, 1e6]
        for _ in 0..<20_000 {
            x.append(-745 * random.nextUniform() * random.nextUniform())
            y.append(exp(log(1e6) * random.nextUniform()))
        }
        let n = x.count
        var ex = [Double](repeating: .nan, count: n), ly = [Double](repeating: .nan, count: n)
        guard distill_nk_exp_log(x, y, n, &ex, &ly) == 0 else {
            #expect(distill_outer_has_avx512() == 0, "declined on a CPU with AVX-512")
            return
        }
        var worstExp = 0.0, worstLog = 0.0
        for i in 0..<n {
            let e = exp(x[i]), l = log(y[i])
            worstExp = max(worstExp, abs(ex[i] - e) / max(e.ulp, Double.leastNonzeroMagnitude))
            worstLog = max(worstLog, l == 0 ? abs(ly[i]) / Double.leastNonzeroMagnitude : abs(ly[i] - l) / l.ulp)
        }
        #expect(ex[0] == 1 && ly[0] == 0)
        #expect(worstExp <= 2, "e^x: \(worstExp) ulp")
        #expect(worstLog <= 2, "log y: \(worstLog) ulp")
    }

    /// A support image with a NaN pixel makes the loss NaN on the tiles as on the FMA loops,
    /// and a NaN coefficient makes the image gradient NaN (the tiles' integers cannot hold a
    /// NaN; other terms of the pass carry it here too, so this checks the outcome, not which
    /// term brings it).
    @Test(arguments: [3, 10, 16])
    func notFiniteValuesStayNotFinite(m: Int) {
        let data = NeuralKernelSparsePassTests.sparseImages(count: 403, seed: UInt64(3 + m))
        let p = data.features
        var random = SplitMix64(seed: UInt64(9 + m))
        var support = (0..<(m * p)).map { _ in random.nextNormal() }
        var alpha = (0..<(m * data.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 2, weightVariance: 2, biasVariance: 0.01)
        for products in [NeuralKernelPass.Products.automatic, .fusedMultiplyAdd] {
            let pass = NeuralKernelPass(data: data, threads: 2, products: products)
            func run() -> NeuralKernelPassResult {
                pass.evaluate(support: support, count: m, alpha: alpha, architecture: architecture, mean: 0.13, std: 0.31,
                              loss: .meanSquaredError, gradient: true)
            }
            #expect(run().loss.isFinite)
            support[p + 5] = .nan
            #expect(run().loss.isNaN, "\(products): NaN support pixel")
            support[p + 5] = 0.5
            alpha[1] = .nan
            let result = run()
            #expect(result.supportGradient.contains { $0.isNaN }, "\(products): NaN coefficient")
            alpha[1] = 0.01
        }
    }

    /// Colour images as CIFAR-10 stores them (32 x 32 x 3 = 3072 bytes, 48 chunks of 64
    /// pixels, dense and uniformly random) and a row length that is no multiple of 16
    /// (27 x 27 = 729): the tiles against the FMA loops, 10 support images, 2 threads,
    /// both losses: the loss to 1e-7 relative (dense random bytes make the FMA loops'
    /// Float32 sums over up to 3072 terms round more than MNIST's: 1.2e-9 measured at
    /// 729), both gradients to 1e-6 of their largest entry, as below.
    @Test(arguments: [(32, 3), (27, 1)])
    func colourAndOddSizedImagesAgreeWithTheFMALoops(side: Int, channels: Int) {
        let p = side * side * channels, n = 213, m = 10
        var random = SplitMix64(seed: UInt64(p))
        let bytes = (0..<(n * p)).map { _ in UInt8(random.next() % 256) }
        let data = LabeledImages(pixels: .bytes(bytes), scale: 1 / 255, labels: (0..<n).map { Int32($0 % 10) },
                                 shape: ImageShape(height: side, width: side, channels: channels), classes: 10)
        let support = (0..<(m * p)).map { _ in random.nextNormal() }
        let alpha = (0..<(m * data.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 2, weightVariance: 2, biasVariance: 0.01)
        for loss in [NeuralKernelPass.Loss.meanSquaredError, .crossEntropy] {
            func run(_ products: NeuralKernelPass.Products) -> NeuralKernelPassResult {
                NeuralKernelPass(data: data, threads: 2, products: products).evaluate(
                    support: support, count: m, alpha: alpha, architecture: architecture, mean: 0.5, std: 0.29,
                    loss: loss, gradient: true)
            }
            let tiles = run(.automatic), fma = run(.fusedMultiplyAdd)
            #expect(tiles.loss.isFinite)
            let avx512 = NeuralKernelPass(data: data, threads: 2).usesAVX512
            #expect(tiles.usedAMX == (avx512 && NeuralKernelPassTests.hasAMX && NeuralKernelSparsePassTests.hasVNNI))
            #expect(!fma.usedAMX)
            #expect(abs(tiles.loss - fma.loss) <= 1e-7 * abs(fma.loss), "\(loss)")
            for (a, b, name) in [(tiles.supportGradient, fma.supportGradient, "∂L/∂U"),
                                 (tiles.coefficientGradient, fma.coefficientGradient, "∂L/∂α")] {
                let largest = b.map(abs).max() ?? 0
                let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-6 * largest, "\(loss) \(name): \(worst) against largest \(largest)")
            }
        }
    }

    /// Row counts at the tiles' edges on one thread (super-blocks of 192 rows, groups of 16):
    /// 400 rows end with a full group of 16 whose 64-byte chunks would read past the data
    /// (copied first), 401 with a group of one; 192 and 208 are whole super-blocks and one
    /// more group. The tiles against the FMA loops: the loss to 1e-9 relative and both
    /// gradients to 1e-6 of their largest entry (both round differently; either would
    /// differ by order 1 on a wrong row or column).
    @Test(arguments: [192, 208, 400, 401])
    func rowCountsAtTheTilesEdgesAgreeWithTheFMALoops(rows: Int) {
        let data = NeuralKernelSparsePassTests.sparseImages(count: rows, seed: UInt64(rows))
        let p = data.features, m = 10
        var random = SplitMix64(seed: UInt64(rows + 1))
        let support = (0..<(m * p)).map { _ in random.nextNormal() }
        let alpha = (0..<(m * data.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 2, weightVariance: 2, biasVariance: 0.01)
        func run(_ products: NeuralKernelPass.Products) -> NeuralKernelPassResult {
            NeuralKernelPass(data: data, threads: 1, products: products).evaluate(
                support: support, count: m, alpha: alpha, architecture: architecture, mean: 0.13, std: 0.31,
                loss: .crossEntropy, gradient: true)
        }
        let tiles = run(.automatic), fma = run(.fusedMultiplyAdd)
        #expect(abs(tiles.loss - fma.loss) <= 1e-9 * abs(fma.loss))
        #expect(tiles.correct == fma.correct)
        for (a, b, name) in [(tiles.supportGradient, fma.supportGradient, "∂L/∂U"),
                             (tiles.coefficientGradient, fma.coefficientGradient, "∂L/∂α")] {
            let largest = b.map(abs).max() ?? 0
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6 * largest, "\(name): \(worst) against largest \(largest)")
        }
    }
}
