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
/// 128..<192). Support counts take every path of the products: m = 1, 10, 13 and 16 (the
/// forward by dot-product tiles, over the nonzero 16-pixel chunks of pairs of rows up
/// to 12 and of single rows above, with AVX512_VNNI; the backward per strip of two chunks
/// over its nonzero rows, 8 + 8 columns at 16), 20 (one GEMM vector, which
/// stays dense, and dot tiles), 29 (the GEMM alone, a partly used vector), 100 (a 6-vector panel) and
/// 256 (panels of 6 and 4 vectors, two-block super-blocks, backward column chunks of 8);
/// 403 rows on 2 threads leave partial blocks and groups. The pass must also report
/// fewer multiply-adds when skipping than the dense `2 n m p`, so that the test fails
/// if the sparse path silently stopped running. `chunkImages` (27 x 27: p = 729, a
/// last chunk of 9 pixels) adds the cases of the chunk lists: rows of a pair nonzero in
/// different chunks, only the partial last chunk nonzero, single pixels either side of
/// a chunk boundary.
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

    /// 27 x 27 byte images (p = 729: 45 whole 16-pixel chunks and a last one of 9) whose
    /// nonzero pixels sit in few chunks, by image number mod 6: a blob; 1 to 3 pixels in
    /// one chunk (a different one for each image, so the rows of a pair differ); only
    /// pixels of the last, partial chunk; none; all; one pixel either side of a chunk boundary.
    static func chunkImages(count: Int, seed: UInt64) -> LabeledImages {
        var random = SplitMix64(seed: seed)
        let side = 27, features = side * side, chunks = (features + 15) / 16
        var bytes = [UInt8](repeating: 0, count: count * features)
        func set(_ i: Int, _ k: Int) { bytes[i * features + k] = UInt8(1 + random.next() % 255) }
        for i in 0..<count {
            switch i % 6 {
            case 0:
                let ci = 8 + Int(random.next() % 10), cj = 8 + Int(random.next() % 10)
                for y in 0..<side { for x in 0..<side where abs(y - ci) <= 4 && abs(x - cj) <= 4 && random.next() % 10 < 7 { set(i, y * side + x) } }
            case 1:
                let chunk = (i / 6 + Int(random.next() % 7)) % chunks
                for _ in 0...(random.next() % 3) { set(i, min(16 * chunk + Int(random.next() % 16), features - 1)) }
            case 2: for k in (16 * (chunks - 1))..<features where random.next() % 2 == 0 { set(i, k) }
            case 3: break
            case 4: for k in 0..<features { set(i, k) }
            default:
                let boundary = 16 * (1 + Int(random.next() % UInt64(chunks - 1)))
                set(i, random.next() % 2 == 0 ? boundary - 1 : boundary)
            }
        }
        return LabeledImages(pixels: .bytes(bytes), scale: 1 / 255, labels: (0..<count).map { Int32($0 % 10) },
                             shape: ImageShape(height: side, width: side), classes: 10)
    }

    /// Whether the CPU has AVX512_VNNI (Linux; the dot-product tiles skip zero chunks only with it).
    static let hasVNNI = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains("avx512_vnni") ?? false

    @Test(arguments: [1, 10, 13, 16, 20, 29, 100, 256])
    func skippingZeroPixelsGivesTheDenseBits(m: Int) {
        Self.compare(data: Self.sparseImages(count: 403, seed: UInt64(7 + m)), m: m)
    }

    @Test(arguments: [1, 5, 12, 13, 16, 20])
    func skippingZeroChunksGivesTheDenseBits(m: Int) {
        Self.compare(data: Self.chunkImages(count: 403, seed: UInt64(31 + m)), m: m)
    }

    static func compare(data: LabeledImages, m: Int) {
        let p = data.features
        var random = SplitMix64(seed: UInt64(100 + m))
        let support = (0..<(m * p)).map { _ in random.nextNormal() }
        let alpha = (0..<(m * data.classes)).map { _ in 0.05 * random.nextNormal() }
        let architecture = NeuralKernelArchitecture(tangent: true, depth: 3, weightVariance: 2, biasVariance: 0.01)
        func run(_ zeroPixels: NeuralKernelPass.ZeroPixels, gradient: Bool) -> (NeuralKernelPassResult, Bool) {
            // The FMA loops: AMX tiles (the default where they exist) take every pixel.
            let pass = NeuralKernelPass(data: data, threads: 2, zeroPixels: zeroPixels, products: .fusedMultiplyAdd)
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
            // Without AVX-512 (the portable kernel) nothing is skipped; with it, m = 17...20 and
            // no gradient leave nothing to skip (a GEMM panel of one vector of 16 columns and
            // the dot-product tiles for the last columns stay dense), nor does m <= 16 without
            // AVX512_VNNI (the dot-product tiles skip zero chunks in the sweep that converts
            // the bytes, which needs it).
            if avx512 && (gradient || m > 20 || (m <= 16 && Self.hasVNNI)) { #expect(skipped.multiplyAdds < 0.9 * denseCount) }
            else { #expect(skipped.multiplyAdds == denseCount) }
        }
    }
}
