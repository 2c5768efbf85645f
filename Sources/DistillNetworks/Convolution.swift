/// A 3x3, stride-1 convolution with zero padding, on images stored channel-major
/// over the batch ("CNHW": plane `(c, i)` of image `i` in channel `c` starts at
/// `(c * count + i) * height * width`), so that one product covers the batch.
///
/// Weights are `outChannels x (inChannels * 9)`, row-major in PyTorch's
/// `(c, ky, kx)` order; bias has `outChannels` values. The product runs on
/// `im2col` columns: row `(c, ky, kx)`, column `(i, oy, ox)`.
public struct Convolution: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let height: Int
    public let width: Int
    public let padding: Int

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, padding: Int) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.height = height
        self.width = width
        self.padding = padding
    }

    public var outHeight: Int { height + 2 * padding - 2 }
    public var outWidth: Int { width + 2 * padding - 2 }
    /// Values of the weight matrix (the bias follows it in the parameters).
    public var weightCount: Int { outChannels * depth }
    /// The product's depth, `inChannels * 9`.
    public var depth: Int { inChannels * 9 }

    /// `col` (`depth x count·outHeight·outWidth`) from `x` (`inChannels x count x height x width`).
    func im2col<S: NetworkScalar>(_ x: UnsafePointer<S>, count: Int, into col: UnsafeMutablePointer<S>, threads: Int) {
        let (h, w, oh, ow, pad) = (height, width, outHeight, outWidth, padding)
        let columns = count * oh * ow
        let xs = SharedPointer(UnsafeMutablePointer(mutating: x)), cs = SharedPointer(col)
        parallelRanges(depth, threads: threads) { rows in
            for row in rows {
                let c = row / 9, ky = (row % 9) / 3, kx = row % 3
                let out = cs.base + row * columns
                for i in 0..<count {
                    let plane = xs.base + (c * count + i) * h * w
                    let dst = out + i * oh * ow
                    for oy in 0..<oh {
                        let iy = oy + ky - pad
                        let line = dst + oy * ow
                        guard iy >= 0 && iy < h else { line.update(repeating: 0, count: ow); continue }
                        // Output columns ox read input column ox + kx - pad: valid for ox in lo..<hi.
                        let lo = min(max(0, pad - kx), ow), hi = min(ow, w + pad - kx)
                        if lo > 0 { line.update(repeating: 0, count: lo) }
                        if hi > lo { (line + lo).update(from: plane + iy * w + lo + kx - pad, count: hi - lo) }
                        if hi < ow { (line + max(hi, lo)).update(repeating: 0, count: ow - max(hi, lo)) }
                    }
                }
            }
        }
    }

    /// `dx` (overwritten, `inChannels x count x height x width`) from the columns' gradient:
    /// the adjoint of `im2col`.
    func col2im<S: NetworkScalar>(_ col: UnsafePointer<S>, count: Int, into dx: UnsafeMutablePointer<S>, threads: Int) {
        let (h, w, oh, ow, pad) = (height, width, outHeight, outWidth, padding)
        let columns = count * oh * ow
        let cs = SharedPointer(UnsafeMutablePointer(mutating: col)), xs = SharedPointer(dx)
        parallelRanges(inChannels, threads: threads) { channels in
            for c in channels {
                (xs.base + c * count * h * w).update(repeating: 0, count: count * h * w)
                for k in 0..<9 {
                    let ky = k / 3, kx = k % 3
                    let src = cs.base + (c * 9 + k) * columns
                    for i in 0..<count {
                        let plane = xs.base + (c * count + i) * h * w
                        let from = src + i * oh * ow
                        for oy in 0..<oh {
                            let iy = oy + ky - pad
                            guard iy >= 0 && iy < h else { continue }
                            let line = plane + iy * w + kx - pad, g = from + oy * ow
                            let lo = min(max(0, pad - kx), ow), hi = min(ow, w + pad - kx)
                            if hi > lo { for ox in lo..<hi { line[ox] += g[ox] } }
                        }
                    }
                }
            }
        }
    }

    /// `y = W · im2col(x) + b`: `y` is `outChannels x count x outHeight x outWidth`.
    /// `col` is scratch of `depth · count · outHeight · outWidth` values.
    func forward<S: NetworkScalar>(weights: UnsafePointer<S>, bias: UnsafePointer<S>, input x: UnsafePointer<S>,
                                   count: Int, output y: UnsafeMutablePointer<S>, col: UnsafeMutablePointer<S>,
                                   threads: Int) {
        im2col(x, count: count, into: col, threads: threads)
        let columns = count * outHeight * outWidth
        for o in 0..<outChannels { (y + o * columns).update(repeating: bias[o], count: columns) }
        let w = SharedPointer(UnsafeMutablePointer(mutating: weights)), cs = SharedPointer(col), ys = SharedPointer(y)
        let (m, k) = (outChannels, depth)
        parallelRanges(columns, threads: threads) { r in
            S.gemm(transposeA: false, transposeB: false, m: m, n: r.count, k: k, alpha: 1, a: w.base, lda: k,
                   b: cs.base + r.lowerBound, ldb: columns, beta: 1, c: ys.base + r.lowerBound, ldc: columns)
        }
    }

    /// Adds the weights' and bias' gradients to `weightGradient`, `biasGradient` and,
    /// when `inputGradient` is given, overwrites it with the input's gradient.
    /// `dy` is the output's gradient; `col` is scratch as in `forward`.
    func backward<S: NetworkScalar>(weights: UnsafePointer<S>, input x: UnsafePointer<S>, count: Int,
                                    outputGradient dy: UnsafePointer<S>,
                                    weightGradient: UnsafeMutablePointer<S>, biasGradient: UnsafeMutablePointer<S>,
                                    inputGradient: UnsafeMutablePointer<S>?, col: UnsafeMutablePointer<S>, threads: Int) {
        let columns = count * outHeight * outWidth
        for o in 0..<outChannels { biasGradient[o] += vectorSum(dy + o * columns, count: columns) }
        im2col(x, count: count, into: col, threads: threads)
        // ∂W = dy · colᵀ, a sum over columns: each part sums its own columns, the
        // first into the gradient, the others into scratch, added in part order.
        let (m, k) = (outChannels, depth)
        let parts = max(1, min(threads, columns))
        let partials = UnsafeMutablePointer<S>.allocate(capacity: max(1, (parts - 1) * m * k))
        defer { partials.deallocate() }
        let dys = SharedPointer(UnsafeMutablePointer(mutating: dy)), cs = SharedPointer(col)
        let gs = SharedPointer(weightGradient), ps = SharedPointer(partials)
        parallelRanges(parts, threads: parts) { range in
            for part in range {
                let r = (columns * part / parts)..<(columns * (part + 1) / parts)
                S.gemm(transposeA: false, transposeB: true, m: m, n: k, k: r.count, alpha: 1,
                       a: dys.base + r.lowerBound, lda: columns, b: cs.base + r.lowerBound, ldb: columns,
                       beta: part == 0 ? 1 : 0, c: part == 0 ? gs.base : ps.base + (part - 1) * m * k, ldc: k)
            }
        }
        for part in 1..<max(1, parts) {
            let partial = partials + (part - 1) * m * k
            for i in 0..<(m * k) { weightGradient[i] += partial[i] }
        }
        guard let dx = inputGradient else { return }
        let w = SharedPointer(UnsafeMutablePointer(mutating: weights))
        parallelRanges(columns, threads: threads) { r in
            S.gemm(transposeA: true, transposeB: false, m: k, n: r.count, k: m, alpha: 1, a: w.base, lda: k,
                   b: dys.base + r.lowerBound, ldb: columns, beta: 0, c: cs.base + r.lowerBound, ldc: columns)
        }
        col2im(col, count: count, into: dx, threads: threads)
    }
}
