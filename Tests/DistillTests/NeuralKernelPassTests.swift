import DistillImages
import Testing
import DistillNumerics
import _TestSupport
@testable import Distill

/// The fused C pass (`NeuralKernelPass`, AVX-512 and portable) against the plain
/// Double reference (`NeuralKernelRidgeRegression.outerLoss`) on a random subset
/// of MNIST's training set.
///
/// Tolerance: the pass computes `X Uᵀ` and `Gᵀ X` in Float32 over 784 terms
/// (relative error about 1e-7 per entry, more where the standardisation's
/// constant cancels part of the dot product), and the AVX-512 kernel runs the
/// recursion in Float32 (a single-precision arccos polynomial, rsqrt with one
/// Newton step: about 1e-7 per entry). Measured: loss within 1e-7 relative,
/// gradients within 1.6e-7 (Frobenius) for AVX-512, 8e-8 portable. Held to 1e-6 (loss) and
/// 1e-5 (gradients): ten to a hundred times that, far below any real mistake (order 1). Accuracy counts must agree
/// except where two predictions tie within that error: we allow 1 of 400.
@Suite struct NeuralKernelPassTests {
    @Test(arguments: [(NeuralKernelKind.ntk, 3, KernelOuterLoss.meanSquaredError, 13),
                      (.nngp, 2, .crossEntropy, 20), (.ntk, 1, .crossEntropy, 37)])
    func fusedPassMatchesTheDoubleReference(kind: NeuralKernelKind, depth: Int, loss: KernelOuterLoss, m: Int) throws {
        let (train, _) = try TestSupport.mnist()
        var random = SplitMix64(seed: 17)
        let (data, s) = Self.rowsAndSupport(of: train, rows: 400, m: m, random: &random)
        let standardisation = PixelStandardisation.measured(on: train)
        let kernel = NeuralKernel(kind: kind, depth: depth, weightVariance: 1.9, biasVariance: 0.05)
        let alpha = TestSupport.randomMatrix(m, train.classes, seed: 18, scale: 0.5)
        let problem = NeuralKernelRidgeRegression(images: s, labels: Matrix(zeros: m, train.classes), l2: 0.1,
                                                  kernel: kernel, standardisation: standardisation)
        let x = Matrix(rows: data.count, columns: data.features, values: (0..<data.count).flatMap { data.image($0) })
        let reference = problem.outerLoss(on: x, labels: data.labels.map(Int.init), coefficients: alpha, loss: loss)

        for variant: OuterPass.Kernel in [.automatic, .portable] {
            let pass = NeuralKernelPass(data: data, threads: 2, kernel: variant)
            let result = pass.evaluate(support: problem.standardised.values, count: m, alpha: alpha.values,
                                       architecture: NeuralKernelModel.architecture(kernel), mean: standardisation.mean,
                                       std: standardisation.std, loss: NeuralKernelModel.passLoss(loss), gradient: true)
            let label = "\(kind) depth \(depth) \(loss) \(pass.usesAVX512 ? "AVX-512" : "portable")"
            print(label, "loss", result.loss, reference.loss)
            #expect(abs(result.loss - reference.loss) < 1e-6 * reference.loss)
            #expect(abs(result.correct - reference.correct) <= 1)
            let error = DerivativeCheck.report(label, [
                ("dα", result.coefficientGradient, reference.coefficientGradient.values),
                ("dS", result.supportGradient.map { $0 / standardisation.std }, reference.imageGradient.values),
            ])
            #expect(error < 1e-5)
            // Loss only: the same loss and count.
            let plain = pass.evaluate(support: problem.standardised.values, count: m, alpha: alpha.values,
                                      architecture: NeuralKernelModel.architecture(kernel), mean: standardisation.mean,
                                      std: standardisation.std, loss: NeuralKernelModel.passLoss(loss), gradient: false)
            #expect(plain.loss == result.loss && plain.correct == result.correct)
        }
    }

    /// The AVX-512 kernel's tile shapes and remainders: support counts that take the
    /// dot-product forward for m <= 16 (two-row tiles up to 12 images, one-row above:
    /// m = 1, 10, 13, 16) and for the last m mod 16 <= 12 columns beside the GEMM
    /// (m = 17, 100, 113: 1, 6, 7 vectors of 16 columns by the GEMM), the GEMM alone
    /// with a partly used last vector (m = 29: m mod 16 = 13), the backward's column
    /// remainders, and row counts that leave partial blocks and partial row groups
    /// (403 rows on 2 threads: 201 and 202, neither a multiple of 96 or of 4), and
    /// m = 256: support set and gradient sums above 1 MiB, so that two blocks of 96
    /// rows share each sweep of them (a full super-block of 192 rows and a partial
    /// one of 9 or 10), with A's rows padded to 272 columns (256 is an even number of
    /// cache lines). Same reference and tolerances as above.
    /// Whether the CPU has AMX-INT8 tiles (Linux's flags; the OS's permission is asked by the pass).
    static let hasAMX: Bool = {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return info.contains("amx_int8") && info.contains("amx_tile")
    }()

    @Test(arguments: [1, 10, 13, 16, 17, 29, 100, 113, 256])
    func tileShapesAndRemaindersMatchTheDoubleReference(m: Int) throws {
        let (train, _) = try TestSupport.mnist()
        var random = SplitMix64(seed: UInt64(31 + m))
        let (data, s) = Self.rowsAndSupport(of: train, rows: 403, m: m, random: &random)
        let standardisation = PixelStandardisation.measured(on: train)
        let kernel = NeuralKernel(kind: .ntk, depth: 3, weightVariance: 2, biasVariance: 0.01)
        let alpha = TestSupport.randomMatrix(m, train.classes, seed: UInt64(40 + m), scale: 0.5)
        let problem = NeuralKernelRidgeRegression(images: s, labels: Matrix(zeros: m, train.classes), l2: 0.1,
                                                  kernel: kernel, standardisation: standardisation)
        if m <= 16 {   // the FMA loops too, where AMX tiles would take the products
            expectPassMatchesReference(problem, alpha: alpha, on: data, kernel: .automatic, products: .fusedMultiplyAdd,
                                       label: "ntk m \(m) FMA")
        }
        let result = expectPassMatchesReference(problem, alpha: alpha, on: data, kernel: .automatic, label: "ntk m \(m)")
        // Deterministic for a thread count: a second pass gives the same bits.
        let again = NeuralKernelPass(data: data, threads: 2).evaluate(
            support: problem.standardised.values, count: m, alpha: alpha.values,
            architecture: NeuralKernelModel.architecture(kernel), mean: standardisation.mean,
            std: standardisation.std, loss: .meanSquaredError, gradient: true)
        #expect(again.loss == result.loss && again.supportGradient == result.supportGradient
                && again.coefficientGradient == result.coefficientGradient)
    }

    /// The AVX-512 kernel's recursion and reverse sweep on packed lanes (m = 1..12 and 17..24:
    /// units of 8 rows whose rows x m entries run 16 a vector, each lane with its row's and its
    /// column's values): m = 5, 10 and 11 (units of 3, 5 and 6 vectors; a row's entries
    /// across a vector boundary), 20 and 23 (two vectors a row), NNGP and NTK, depth 1 and 3,
    /// and m = 13 beside them (not packed: 7 vectors of 8 would save too little). 413 rows on
    /// 2 threads (206 and 207: blocks of 96, 96 and 14 or 15 rows, so a last unit of 6 or 7
    /// rows, whose second group of 2 or 3 takes the per-row loss and d_alpha). Same reference
    /// and tolerances as above.
    @Test(arguments: [(5, NeuralKernelKind.nngp, 3), (10, .nngp, 1), (10, .ntk, 3), (11, .ntk, 1), (13, .nngp, 3),
                      (20, .nngp, 3), (20, .ntk, 1), (23, .ntk, 3)])
    func packedLanesMatchTheDoubleReference(m: Int, kind: NeuralKernelKind, depth: Int) throws {
        let (train, _) = try TestSupport.mnist()
        var random = SplitMix64(seed: UInt64(91 + m + 7 * depth))
        let (data, s) = Self.rowsAndSupport(of: train, rows: 413, m: m, random: &random)
        let standardisation = PixelStandardisation.measured(on: train)
        let kernel = NeuralKernel(kind: kind, depth: depth, weightVariance: 1.9, biasVariance: 0.05)
        let alpha = TestSupport.randomMatrix(m, train.classes, seed: UInt64(95 + m), scale: 0.5)
        let problem = NeuralKernelRidgeRegression(images: s, labels: Matrix(zeros: m, train.classes), l2: 0.1,
                                                  kernel: kernel, standardisation: standardisation)
        for products in [NeuralKernelPass.Products.automatic, .fusedMultiplyAdd] {
            expectPassMatchesReference(problem, alpha: alpha, on: data, kernel: .automatic, products: products,
                                       label: "\(kind) depth \(depth) m \(m) \(m == 13 ? "rows of ldm lanes" : "packed") \(products)")
        }
    }

    /// The fused pass of `problem`'s support set with coefficients `alpha` over `data`
    /// (2 threads, `kernel`), against the plain Double reference
    /// (`NeuralKernelRidgeRegression.outerLoss`): the loss to 1e-6 relative, the
    /// correct count to one image, both gradients to 1e-5 (`DerivativeCheck`), and the
    /// loss-only pass equal to the gradient pass's loss. Returns the gradient pass.
    @discardableResult
    func expectPassMatchesReference(_ problem: NeuralKernelRidgeRegression, alpha: Matrix, on data: LabeledImages,
                                    kernel variant: OuterPass.Kernel, products: NeuralKernelPass.Products = .automatic,
                                    label: String) -> NeuralKernelPassResult {
        let m = problem.count, standardisation = problem.standardisation
        let x = Matrix(rows: data.count, columns: data.features, values: (0..<data.count).flatMap { data.image($0) })
        let reference = problem.outerLoss(on: x, labels: data.labels.map(Int.init), coefficients: alpha, loss: .meanSquaredError)
        let pass = NeuralKernelPass(data: data, threads: 2, kernel: variant, products: products)
        func evaluate(gradient: Bool) -> NeuralKernelPassResult {
            pass.evaluate(support: problem.standardised.values, count: m, alpha: alpha.values,
                          architecture: NeuralKernelModel.architecture(problem.kernel), mean: standardisation.mean,
                          std: standardisation.std, loss: .meanSquaredError, gradient: gradient)
        }
        let result = evaluate(gradient: true)
        #expect(abs(result.loss - reference.loss) < 1e-6 * reference.loss)
        #expect(abs(result.correct - reference.correct) <= 1)
        let units = !pass.usesAVX512 ? "portable" : (result.usedAMX ? "AVX-512, AMX products" : "AVX-512")
        let error = DerivativeCheck.report("\(label) \(units)", [
            ("dα", result.coefficientGradient, reference.coefficientGradient.values),
            ("dS", result.supportGradient.map { $0 / standardisation.std }, reference.imageGradient.values),
        ])
        #expect(error < 1e-5)
        // The tiles run where they can (byte images, 3 <= m <= 16, AVX-512 with VNNI, AMX-INT8) unless told not to.
        let tiles = products == .automatic && pass.usesAVX512 && (3...16).contains(m) && NeuralKernelPassTests.hasAMX
                    && NeuralKernelSparsePassTests.hasVNNI
        #expect(result.usedAMX == tiles, "\(label): AMX products \(result.usedAMX), expected \(tiles)")
        let plain = evaluate(gradient: false)
        #expect(plain.loss == result.loss && plain.correct == result.correct)
        return result
    }

    /// The AVX-512 kernel's sweep that converts byte rows and multiplies them with the
    /// support set together (m <= 16), on images whose feature count is not a multiple of
    /// 16 (MNIST's first 700 pixels of each image: the last 12 pixels a row's partial
    /// vector): m = 1, 7, 10, 12 (two-row tiles), 13, 16 (one-row tiles), 403 rows on 2
    /// threads (odd shares: a block's last two-row tile holds one padding row), the
    /// AVX-512 and portable kernels against the same Double reference and tolerances as above.
    @Test(arguments: [1, 7, 10, 12, 13, 16])
    func narrowSupportWithPartialPixelVectorsMatchesTheDoubleReference(m: Int) throws {
        let (mnist, _) = try TestSupport.mnist()
        let features = 700
        guard case .bytes(let bytes) = mnist.pixels else { Issue.record("MNIST is stored as bytes"); return }
        var random = SplitMix64(seed: UInt64(61 + m))
        var picked: [UInt8] = [], labels: [Int32] = []
        for _ in 0..<403 {
            let i = Int(random.next() % UInt64(mnist.count))
            picked.append(contentsOf: bytes[(i * mnist.features)..<(i * mnist.features + features)])
            labels.append(mnist.labels[i])
        }
        let data = LabeledImages(pixels: .bytes(picked), scale: mnist.scale, labels: labels, features: features,
                                 classes: mnist.classes)
        let standardisation = PixelStandardisation.measured(on: data)
        let kernel = NeuralKernel(kind: .ntk, depth: 3, weightVariance: 2, biasVariance: 0.01)
        var s = Matrix(zeros: m, features)
        for j in 0..<m {
            let image = mnist.image(Int(random.next() % UInt64(mnist.count)))
            for k in 0..<features { s[j, k] = min(1, max(0, image[k] + 0.1 * random.nextNormal())) }
        }
        let alpha = TestSupport.randomMatrix(m, mnist.classes, seed: UInt64(70 + m), scale: 0.5)
        let problem = NeuralKernelRidgeRegression(images: s, labels: Matrix(zeros: m, mnist.classes), l2: 0.1,
                                                  kernel: kernel, standardisation: standardisation)
        for variant: OuterPass.Kernel in [.automatic, .portable] {
            expectPassMatchesReference(problem, alpha: alpha, on: data, kernel: variant, label: "ntk m \(m) p \(features)")
        }
        expectPassMatchesReference(problem, alpha: alpha, on: data, kernel: .automatic, products: .fusedMultiplyAdd,
                                   label: "ntk m \(m) p \(features) FMA")
    }

    /// `rows` training rows drawn with `random`, then `m` support images (pixel units):
    /// other training images drawn with `random`, each pixel perturbed by N(0, 0.1²)
    /// noise and clipped to [0, 1].
    static func rowsAndSupport(of train: LabeledImages, rows: Int, m: Int, random: inout SplitMix64) -> (LabeledImages, Matrix) {
        var indices: [Int] = []
        for _ in 0..<rows { indices.append(Int(random.next() % UInt64(train.count))) }
        let data = train.subset(indices)
        var s = Matrix(zeros: m, train.features)
        for j in 0..<m {
            let image = train.image(Int(random.next() % UInt64(train.count)))
            for k in 0..<train.features { s[j, k] = min(1, max(0, image[k] + 0.1 * random.nextNormal())) }
        }
        return (data, s)
    }
}
