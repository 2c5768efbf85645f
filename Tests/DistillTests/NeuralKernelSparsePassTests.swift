import DistillImages
import DistillNumerics
import Testing

/// The AVX-512 fused pass with the zero pixels of byte images skipped
/// (`NeuralKernelPass.ZeroPixels.skipped`) against the same kernel dense (`.dense`):
/// the loss, the accuracy count and both gradients must be the same bits, since
/// skipping a term `fma(0, s, acc)` of a Float32 chain leaves `acc` unchanged for
/// finite `s`. The images are MNIST-like (a blob of nonzero pixels, about a fifth of
/// them) plus cases the index lists must get right: all-zero images, a dense image,
/// pixels zero in every image (pixel 0, the last pixel and a whole 64-pixel chunk
/// 128..<192). Support counts take every path of the products: m = 1 and 10 (the
/// forward by dot-product tiles; only the backward skips), 20 (one GEMM vector, which
/// stays dense, and dot tiles), 29 (the GEMM alone, a partly used vector), 100 (a 6-vector panel) and
/// 256 (panels of 6 and 4 vectors, two-block super-blocks, backward column chunks of 8);
/// 403 rows on 2 threads leave partial blocks and groups. The pass must also report
/// fewer multiply-adds when skipping than the dense `2 n m p`, so that the test fails
/// if the sparse path silently stopped running.
@Suite struct NeuralKernelSparsePassTests {
    static func sparseImages(count: Int, seed: UInt64) -> LabeledImages {
        var random = SplitMix64(seed: seed)
        let side = 28, features = side * side
        var bytes = [UInt8](repeating: 0, count: count * features)
        for i in 0..<count {
            if i % 37 == 5 || i % 101 == 0 { continue }   // all-zero images
            let dense = i % 53 == 7
            let ci = 9 + Int(random.next() % 10), cj = 9 + Int(random.next() % 10)
            for y in 0..<side {
                for x in 0..<side {
                    let k = y * side + x
                    if k == 0 || k == features - 1 || (128..<192).contains(k) { continue }   // zero in every image
                    let near = abs(y - ci) <= 5 && abs(x - cj) <= 4
                    if dense || (near && random.next() % 10 < 8) { bytes[i * features + k] = UInt8(1 + random.next() % 255) }
                }
            }
        }
        return LabeledImages(pixels: .bytes(bytes), scale: 1 / 255, labels: (0..<count).map { Int32($0 % 10) },
                             shape: ImageShape(height: side, width: side), classes: 10)
    }

    @Test(arguments: [1, 10, 20, 29, 100, 256])
    func skippingZeroPixelsGivesTheDenseBits(m: Int) {
        let data = Self.sparseImages(count: 403, seed: UInt64(7 + m))
        let p = data.features
        var random = SplitMix64(seed: UInt64(100 + m))
        let support = (0..<(m * p)).map { _ in random.nextNormal() }
        let alpha = (0..<(m * data.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 3, weightVariance: 2, biasVariance: 0.01)
        func run(_ zeroPixels: NeuralKernelPass.ZeroPixels, gradient: Bool) -> (NeuralKernelPassResult, Bool) {
            let pass = NeuralKernelPass(data: data, threads: 2, zeroPixels: zeroPixels)
            return (pass.evaluate(support: support, count: m, alpha: alpha, architecture: architecture, mean: 0.13,
                                  std: 0.31, loss: .meanSquaredError, gradient: gradient), pass.usesAVX512)
        }
        for gradient in [true, false] {
            let (dense, avx512) = run(.dense, gradient: gradient)
            let (skipped, _) = run(.skipped, gradient: gradient)
            #expect(dense.loss.isFinite)
            #expect(dense.loss.bitPattern == skipped.loss.bitPattern)
            #expect(dense.correct == skipped.correct)
            #expect(dense.coefficientGradient.map(\.bitPattern) == skipped.coefficientGradient.map(\.bitPattern))
            #expect(dense.supportGradient.map(\.bitPattern) == skipped.supportGradient.map(\.bitPattern))
            let denseCount = Double(data.count * m * p) * (gradient ? 2 : 1)
            #expect(dense.multiplyAdds == denseCount)
            // Without AVX-512 (the portable kernel) nothing is skipped; with it, m <= 20 and
            // no gradient leaves nothing to skip (the forward's dot-product tiles and a GEMM
            // panel of one vector of 16 columns stay dense).
            if avx512 && (gradient || m > 20) { #expect(skipped.multiplyAdds < 0.9 * denseCount) }
            else { #expect(skipped.multiplyAdds == denseCount) }
        }
    }
}
