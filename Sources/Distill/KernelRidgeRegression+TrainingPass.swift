import DistillImages
import DistillNumerics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension KernelRidgeRegression {
    /// Softmax cross-entropy of the predictions `K(X, S) α` on `data` and its two
    /// gradients (as `trainingSetLoss(on:coefficients:)`, which is the plain Double
    /// reference), fast: Float32 SIMD arithmetic on every thread.
    ///
    /// Per block of 64 training images (converted to Float once):
    ///
    ///     d²_ij = ‖x_i‖² + ‖s_j‖² - 2 x_i · s_j,   k_ij = exp(-γ max(d²_ij, 0))
    ///     z_i = Σ_j k_ij α_j,   g_i = (softmax(z_i) - e_{y_i}) / n
    ///     ∂L/∂α_j += k_ij g_i,   e_ij = k_ij (α_j · g_i),   A_j += e_ij x_i,   r_j += e_ij
    ///
    /// and at the end `∂L/∂s_j = 2γ (A_j - r_j s_j)`. The dot products and the
    /// `A` update are Float32 inside a block and summed in Double across blocks; the
    /// kernel values, predictions, softmax and `∂L/∂α` are Double per image.
    ///
    /// Cost: `n m p` multiply-adds for the distances, `n m p` more for `A` (when
    /// `gradient`), `n m` exponentials and `3 n m C` for the rest: for MNIST
    /// (n = 60,000, p = 784) about 0.9 G multiply-adds at m = 10 and 9.4 G at
    /// m = 100, split over `threads` contiguous chunks of rows, reduced in order
    /// (deterministic for a thread count).
    public func trainingSetLoss(on data: LabeledImages, coefficients alpha: Matrix, threads: Int,
                                gradient: Bool) -> TrainingSetLoss {
        precondition(data.features == features && data.classes == classes, "KernelRidgeRegression: data shape differs from the model's")
        precondition(alpha.rows == count && alpha.columns == classes, "KernelRidgeRegression: coefficients must be count x classes")
        let m = count, p = features, n = data.count
        let ld = max(16, (p + 15) / 16 * 16)
        var support = [Float](repeating: 0, count: m * ld)
        var supportNorms = [Float](repeating: 0, count: m)
        for j in 0..<m {
            var s2 = 0.0
            for k in 0..<p {
                let v = images[j, k]
                support[j * ld + k] = Float(v)
                s2 += v * v
            }
            supportNorms[j] = Float(s2)
        }
        let shared = SupportSet(support: support, norms: supportNorms, ld: ld, alpha: alpha.values,
                                count: m, classes: classes, gamma: bandwidth)
        let chunks = Parallel.chunks(of: n, parts: max(1, threads))
        let parts = Parallel.map(parts: chunks.count) { part in
            shared.evaluateRows(data: data, rows: chunks[part], gradient: gradient)
        }
        var loss = 0.0, correct = 0
        var dAlpha = Matrix(zeros: m, classes), accumulated = [Double](repeating: 0, count: gradient ? m * ld : 0)
        var rowSums = [Double](repeating: 0, count: m)
        for part in parts {   // in part order: deterministic
            loss += part.lossSum
            correct += part.correct
            guard gradient else { continue }
            for i in dAlpha.values.indices { dAlpha.values[i] += part.alphaGradient[i] }
            for i in accumulated.indices { accumulated[i] += part.accumulated[i] }
            for j in 0..<m { rowSums[j] += part.rowSums[j] }
        }
        var dImages = Matrix(zeros: m, p)
        if gradient {
            let twoGamma = 2 * bandwidth
            for j in 0..<m {
                for k in 0..<p { dImages[j, k] = twoGamma * (accumulated[j * ld + k] - rowSums[j] * images[j, k]) }
            }
        }
        return TrainingSetLoss(loss: loss / Double(max(1, n)), correct: correct,
                               coefficientGradient: dAlpha, imageGradient: dImages)
    }
}

/// The support images in Float (rows padded to `ld`, a multiple of 16, with
/// zeros) and everything a thread needs to evaluate its rows.
private struct SupportSet: Sendable {
    let support: [Float]
    let norms: [Float]
    let ld: Int
    let alpha: [Double]
    let count: Int
    let classes: Int
    let gamma: Double

    struct Partial: Sendable {
        var lossSum = 0.0
        var correct = 0
        var alphaGradient: [Double]
        /// `Σ_i e_ij x_i`, `count x ld`.
        var accumulated: [Double]
        var rowSums: [Double]
    }

    static let blockRows = 64

    func evaluateRows(data: LabeledImages, rows: Range<Int>, gradient: Bool) -> Partial {
        let m = count, c = classes, p = data.features, n = Double(data.count), ld = self.ld
        let blockRows = Self.blockRows
        var out = Partial(alphaGradient: [Double](repeating: 0, count: gradient ? m * c : 0),
                          accumulated: [Double](repeating: 0, count: gradient ? m * ld : 0),
                          rowSums: [Double](repeating: 0, count: m))
        var block = [Float](repeating: 0, count: blockRows * ld)
        var blockNorms = [Float](repeating: 0, count: blockRows)
        var e = [Float](repeating: 0, count: blockRows * m)
        var blockSum = [Float](repeating: 0, count: gradient ? m * ld : 0)
        var k = [Double](repeating: 0, count: m), z = [Double](repeating: 0, count: c)
        let scale = data.scale
        var start = rows.lowerBound
        while start < rows.upperBound {
            let b = min(blockRows, rows.upperBound - start)
            // The block's pixels as Float (model units), and their squared norms.
            block.withUnsafeMutableBufferPointer { x in
                switch data.pixels {
                case .bytes(let bytes):
                    bytes.withUnsafeBufferPointer { src in
                        for r in 0..<b {
                            let from = (start + r) * p
                            for f in 0..<p { x[r * ld + f] = Float(src[from + f]) * scale }
                        }
                    }
                case .floats(let floats):
                    floats.withUnsafeBufferPointer { src in
                        for r in 0..<b {
                            let from = (start + r) * p
                            for f in 0..<p { x[r * ld + f] = src[from + f] * scale }
                        }
                    }
                }
                for r in 0..<b {
                    blockNorms[r] = Self.dot(UnsafePointer(x.baseAddress! + r * ld), UnsafePointer(x.baseAddress! + r * ld), ld / 16)
                }
            }
            for r in 0..<b {
                let i = start + r
                let label = Int(data.labels[i])
                support.withUnsafeBufferPointer { s in
                    block.withUnsafeBufferPointer { x in
                        let xr = x.baseAddress! + r * ld
                        for j in 0..<m {
                            let d2 = blockNorms[r] + norms[j] - 2 * Self.dot(xr, s.baseAddress! + j * ld, ld / 16)
                            k[j] = exp(-gamma * Double(max(d2, 0)))
                        }
                    }
                }
                for q in 0..<c { z[q] = 0 }
                for j in 0..<m {
                    let kj = k[j]
                    for q in 0..<c { z[q] += kj * alpha[j * c + q] }
                }
                var zmax = z[0], arg = 0
                for q in 1..<max(1, c) where z[q] > zmax { zmax = z[q]; arg = q }
                if arg == label { out.correct += 1 }
                var sum = 0.0
                for q in 0..<c { sum += exp(z[q] - zmax) }
                out.lossSum += zmax + log(sum) - z[label]
                guard gradient else { continue }
                // g_i = (softmax(z_i) - e_{y_i}) / n, kept in z.
                for q in 0..<c { z[q] = (exp(z[q] - zmax) / sum - (q == label ? 1 : 0)) / n }
                for j in 0..<m {
                    var ag = 0.0
                    for q in 0..<c {
                        out.alphaGradient[j * c + q] += k[j] * z[q]
                        ag += alpha[j * c + q] * z[q]
                    }
                    let ej = k[j] * ag
                    e[r * m + j] = Float(ej)
                    out.rowSums[j] += ej
                }
            }
            if gradient {
                // A_j += Σ_r e_rj x_r over the block, in Float, then into Double.
                blockSum.withUnsafeMutableBufferPointer { acc in
                    block.withUnsafeBufferPointer { x in
                        for j in 0..<m {
                            let row = acc.baseAddress! + j * ld
                            row.update(repeating: 0, count: ld)
                            for r in 0..<b where e[r * m + j] != 0 {
                                Self.axpy(e[r * m + j], x.baseAddress! + r * ld, row, ld / 16)
                            }
                        }
                    }
                }
                for i in blockSum.indices { out.accumulated[i] += Double(blockSum[i]) }
            }
            start += b
        }
        return out
    }

    /// `Σ a_i b_i` over `chunks` groups of 16 Floats, with two SIMD accumulators.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ chunks: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 1 < chunks {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: i * 64 + 64, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 64 + 64, as: SIMD16<Float>.self)
            i += 2
        }
        if i < chunks {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
        }
        return (acc0 + acc1).sum()
    }

    /// `y += a x` over `chunks` groups of 16 Floats.
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ chunks: Int) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let va = SIMD16<Float>(repeating: a)
        for i in 0..<chunks {
            let sum = ry.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
                + va * rx.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
            ry.storeBytes(of: sum, toByteOffset: i * 64, as: SIMD16<Float>.self)
        }
    }
}
