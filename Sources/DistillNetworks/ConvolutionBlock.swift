/// One block of ConvNet-3 after its convolution, on NHWC images: instance
/// normalisation with affine parameters (Ulyanov et al. 2016; PyTorch's
/// `GroupNorm(C, C)` as DC's ConvNet uses: `γ (y - mean) / sqrt(var + ε) + β`, mean
/// and biased variance over each image's plane of each channel), ReLU (derivative 0
/// at 0, as PyTorch), and 2x2 average pooling with stride 2 (floor: an odd last row
/// or column is dropped). The three run fused, one image at a time, with the
/// channels as the contiguous (vectorised) dimension.
///
/// Layout of `y`, `x̂`, their gradients and the pooled output: NHWC, or (`blocked`,
/// Float only, channels a multiple of 16) oneDNN's `nChw16c`: per image, blocks of
/// 16 channels, each block's plane pixel-major with its 16 channels contiguous
/// (value `(i, y, x, c)` at `((i * C/16 + c/16) * height * width + y * width + x) * 16 + c % 16`).
struct ConvolutionBlockTail: Sendable {
    let channels: Int
    let height: Int
    let width: Int
    let blocked: Bool

    init(channels: Int, height: Int, width: Int, blocked: Bool = false) {
        precondition(!blocked || channels % 16 == 0, "ConvolutionBlockTail: nChw16c needs channels in whole blocks of 16")
        self.channels = channels
        self.height = height
        self.width = width
        self.blocked = blocked
    }

    /// PyTorch's default ε.
    static let epsilon = 1e-5

    var plane: Int { height * width }
    var pooledPlane: Int { (height / 2) * (width / 2) }

    /// From `y` (`count x height x width x channels`) writes the pooled output
    /// (`count x height/2 x width/2 x channels`), and keeps the normalised values
    /// `x̂` (`normalized`, like `y`) and each image's and channel's
    /// `1/sqrt(var + ε)` (`scales`, `count x channels`) for the backward pass.
    func forward<S: NetworkScalar>(_ y: UnsafePointer<S>, count: Int, gamma: UnsafePointer<S>, beta: UnsafePointer<S>,
                                   normalized: UnsafeMutablePointer<S>, scales: UnsafeMutablePointer<S>,
                                   output: UnsafeMutablePointer<S>, threads: Int) {
        if S.self == Float.self {
            func f(_ x: UnsafePointer<S>) -> UnsafePointer<Float> { UnsafeRawPointer(x).assumingMemoryBound(to: Float.self) }
            func f(_ x: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Float> {
                UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self)
            }
            forwardFloat(f(y), count: count, gamma: f(gamma), beta: f(beta), normalized: f(normalized), scales: f(scales),
                         output: f(output), threads: threads)
            return
        }
        precondition(!blocked, "ConvolutionBlockTail: nChw16c is for Float")
        let (w, p, q, c) = (width, plane, pooledPlane, channels)
        let ys = SharedPointer(UnsafeMutablePointer(mutating: y)), xs = SharedPointer(normalized)
        let ss = SharedPointer(scales), os = SharedPointer(output)
        let gs = SharedPointer(UnsafeMutablePointer(mutating: gamma)), bs = SharedPointer(UnsafeMutablePointer(mutating: beta))
        let (oh, ow) = (height / 2, width / 2), inverse = 1 / S(p), epsilon = S(Self.epsilon)
        parallelRanges(count, threads: threads) { images in
            withUnsafeTemporaryAllocation(of: S.self, capacity: c) { meanBuffer in
                let mean = meanBuffer.baseAddress!
                for i in images {
                    let yi = ys.base + i * p * c, xi = xs.base + i * p * c, s = ss.base + i * c
                    mean.update(repeating: 0, count: c)
                    for k in 0..<p { let row = yi + k * c; for j in 0..<c { mean[j] += row[j] } }
                    for j in 0..<c { mean[j] *= inverse }
                    s.update(repeating: 0, count: c)
                    for k in 0..<p {
                        let row = yi + k * c
                        for j in 0..<c { let d = row[j] - mean[j]; s[j] += d * d }
                    }
                    for j in 0..<c { s[j] = 1 / (s[j] * inverse + epsilon).squareRoot() }
                    for k in 0..<p {
                        let row = yi + k * c, out = xi + k * c
                        for j in 0..<c { out[j] = (row[j] - mean[j]) * s[j] }
                    }
                    // Affine, ReLU and pooling in one pass over the normalised values.
                    let g = gs.base, b = bs.base
                    for py in 0..<oh {
                        for px in 0..<ow {
                            let a = xi + ((2 * py) * w + 2 * px) * c, d = a + w * c
                            let out = os.base + (i * q + py * ow + px) * c
                            for j in 0..<c {
                                let s0 = max(g[j] * a[j] + b[j], 0) + max(g[j] * a[j + c] + b[j], 0)
                                let s1 = max(g[j] * d[j] + b[j], 0) + max(g[j] * d[j + c] + b[j], 0)
                                out[j] = (s0 + s1) * S(0.25)
                            }
                        }
                    }
                }
            }
        }
    }

    /// From the pooled output's gradient `dOut`, writes `dy` (like `y`) and adds
    /// the gradients of γ and β to `dGamma`, `dBeta`. Each image's share is summed
    /// over images in order, so the result does not depend on `threads`.
    ///
    /// With `g` the gradient reaching `x̂ γ + β` (a quarter of the pooled gradient
    /// where the affine output was positive): `∂γ = Σ g x̂`, `∂β = Σ g`,
    /// `dy = s γ (g - mean(g) - x̂ · mean(g x̂))`.
    func backward<S: NetworkScalar>(_ dOut: UnsafePointer<S>, count: Int, gamma: UnsafePointer<S>, beta: UnsafePointer<S>,
                                    normalized: UnsafePointer<S>, scales: UnsafePointer<S>,
                                    dy: UnsafeMutablePointer<S>, dGamma: UnsafeMutablePointer<S>,
                                    dBeta: UnsafeMutablePointer<S>, threads: Int) {
        let (h, w, p, q, c) = (height, width, plane, pooledPlane, channels)
        let shares = UnsafeMutablePointer<S>.allocate(capacity: 2 * count * c)
        defer { shares.deallocate() }
        if S.self == Float.self {
            func f(_ x: UnsafePointer<S>) -> UnsafePointer<Float> { UnsafeRawPointer(x).assumingMemoryBound(to: Float.self) }
            func f(_ x: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Float> {
                UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self)
            }
            backwardFloat(f(dOut), count: count, gamma: f(gamma), beta: f(beta), normalized: f(normalized), scales: f(scales),
                          dy: f(dy), shares: f(shares), threads: threads)
        } else {
            precondition(!blocked, "ConvolutionBlockTail: nChw16c is for Float")
            let ds = SharedPointer(UnsafeMutablePointer(mutating: dOut)), xs = SharedPointer(UnsafeMutablePointer(mutating: normalized))
            let ss = SharedPointer(UnsafeMutablePointer(mutating: scales)), dys = SharedPointer(dy), shs = SharedPointer(shares)
            let gs = SharedPointer(UnsafeMutablePointer(mutating: gamma)), bs = SharedPointer(UnsafeMutablePointer(mutating: beta))
            let ow = w / 2, pooledRows = 2 * (h / 2), pooledColumns = 2 * ow, inverse = 1 / S(p)
            parallelRanges(count, threads: threads) { images in
                let g = gs.base, b = bs.base
                for i in images {
                    let xi = xs.base + i * p * c, di = ds.base + i * q * c, s = ss.base + i * c
                    let dg = shs.base + 2 * i * c, db = dg + c
                    dg.update(repeating: 0, count: c); db.update(repeating: 0, count: c)
                    for y in 0..<pooledRows {
                        for x in 0..<pooledColumns {
                            let xhat = xi + (y * w + x) * c, src = di + ((y / 2) * ow + x / 2) * c
                            for j in 0..<c {
                                let d = g[j] * xhat[j] + b[j] > 0 ? src[j] * S(0.25) : 0
                                dg[j] += d * xhat[j]
                                db[j] += d
                            }
                        }
                    }
                    for y in 0..<h {
                        for x in 0..<w {
                            let xhat = xi + (y * w + x) * c, out = dys.base + (i * p + y * w + x) * c
                            let pooled = y < pooledRows && x < pooledColumns
                            let src = di + ((y / 2) * ow + x / 2) * c
                            for j in 0..<c {
                                let a = s[j] * g[j]
                                let d: S = pooled && g[j] * xhat[j] + b[j] > 0 ? src[j] * S(0.25) : 0
                                out[j] = a * (d - db[j] * inverse - xhat[j] * dg[j] * inverse)
                            }
                        }
                    }
                }
            }
        }
        for i in 0..<count {
            let dg = shares + 2 * i * c, db = dg + c
            for j in 0..<c { dGamma[j] += dg[j]; dBeta[j] += db[j] }
        }
    }
}
