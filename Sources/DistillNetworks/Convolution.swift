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
        S.gemm(transposeA: false, transposeB: false, m: outChannels, n: columns, k: depth,
               alpha: 1, a: weights, lda: depth, b: col, ldb: columns, beta: 1, c: y, ldc: columns)
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
        S.gemm(transposeA: false, transposeB: true, m: outChannels, n: depth, k: columns,
               alpha: 1, a: dy, lda: columns, b: col, ldb: columns, beta: 1, c: weightGradient, ldc: depth)
        guard let dx = inputGradient else { return }
        S.gemm(transposeA: true, transposeB: false, m: depth, n: columns, k: outChannels,
               alpha: 1, a: weights, lda: depth, b: dy, ldb: columns, beta: 0, c: col, ldc: columns)
        col2im(col, count: count, into: dx, threads: threads)
    }
}
