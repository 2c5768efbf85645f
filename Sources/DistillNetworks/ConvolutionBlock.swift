/// One block of ConvNet-3 after its convolution: instance normalisation (affine),
/// ReLU, 2x2 average pooling, run plane by plane on CNHW images.
struct ConvolutionBlockTail: Sendable {
    let channels: Int
    let height: Int
    let width: Int

    var plane: Int { height * width }
    var pooledPlane: Int { (height / 2) * (width / 2) }

    /// From `y` (`channels x count x height x width`) writes the pooled output
    /// (`channels x count x height/2 x width/2`), and keeps the normalised planes
    /// (`normalized`, like `y`) and each plane's `1/sqrt(var + ε)` (`scales`,
    /// `channels x count`) for the backward pass.
    func forward<S: NetworkScalar>(_ y: UnsafePointer<S>, count: Int, gamma: UnsafePointer<S>, beta: UnsafePointer<S>,
                                   normalized: UnsafeMutablePointer<S>, scales: UnsafeMutablePointer<S>,
                                   output: UnsafeMutablePointer<S>, threads: Int) {
        let (h, w, p, q) = (height, width, plane, pooledPlane)
        let ys = SharedPointer(UnsafeMutablePointer(mutating: y)), xs = SharedPointer(normalized)
        let ss = SharedPointer(scales), os = SharedPointer(output)
        let gs = SharedPointer(UnsafeMutablePointer(mutating: gamma)), bs = SharedPointer(UnsafeMutablePointer(mutating: beta))
        parallelRanges(channels * count, threads: threads) { planes in
            for k in planes {
                let c = k / count
                let xhat = xs.base + k * p
                ss[k] = InstanceNormalization.normalize(ys.base + k * p, count: p, into: xhat)
                // Affine, ReLU and pooling in one pass (the same as the three layers in turn).
                let (g, b) = (gs[c], bs[c]), out = os.base + k * q, ow = w / 2
                for i in 0..<(h / 2) {
                    let r0 = xhat + 2 * i * w, r1 = r0 + w
                    for j in 0..<ow {
                        let s0 = max(g * r0[2 * j] + b, 0) + max(g * r0[2 * j + 1] + b, 0)
                        let s1 = max(g * r1[2 * j] + b, 0) + max(g * r1[2 * j + 1] + b, 0)
                        out[i * ow + j] = (s0 + s1) * S(0.25)
                    }
                }
            }
        }
    }

    /// From the pooled output's gradient `dOut`, writes `dy` (like `y`) and adds
    /// the gradients of γ and β to `dGamma`, `dBeta` (summed over images in order).
    func backward<S: NetworkScalar>(_ dOut: UnsafePointer<S>, count: Int, gamma: UnsafePointer<S>, beta: UnsafePointer<S>,
                                    normalized: UnsafePointer<S>, scales: UnsafePointer<S>,
                                    dy: UnsafeMutablePointer<S>, dGamma: UnsafeMutablePointer<S>,
                                    dBeta: UnsafeMutablePointer<S>, threads: Int) {
        let (h, w, p, q) = (height, width, plane, pooledPlane)
        let ds = SharedPointer(UnsafeMutablePointer(mutating: dOut)), xs = SharedPointer(UnsafeMutablePointer(mutating: normalized))
        let ss = SharedPointer(UnsafeMutablePointer(mutating: scales)), dys = SharedPointer(dy)
        let gs = SharedPointer(UnsafeMutablePointer(mutating: gamma)), bs = SharedPointer(UnsafeMutablePointer(mutating: beta))
        let dgs = SharedPointer(dGamma), dbs = SharedPointer(dBeta)
        parallelRanges(channels, threads: threads) { range in
            let da = UnsafeMutablePointer<S>.allocate(capacity: p)
            defer { da.deallocate() }
            let ow = w / 2
            for c in range {
                let (g, b) = (gs[c], bs[c])
                var dg: S = 0, db: S = 0
                for i in 0..<count {
                    let k = c * count + i
                    let xhat = xs.base + k * p, dOut = ds.base + k * q
                    // Pooling's and ReLU's backward passes in one: each pixel takes a quarter of
                    // its pooled gradient where its affine output was positive.
                    if h % 2 == 1 || w % 2 == 1 { da.update(repeating: 0, count: p) }
                    for y in 0..<(2 * (h / 2)) {
                        let src = dOut + (y / 2) * ow, row = y * w
                        for x in 0..<(2 * ow) {
                            da[row + x] = g * xhat[row + x] + b > 0 ? src[x / 2] * S(0.25) : 0
                        }
                    }
                    InstanceNormalization.backward(da, normalized: xhat, scale: ss[k], gamma: g, count: p,
                                                   dy: dys.base + k * p, dGamma: &dg, dBeta: &db)
                }
                dgs[c] += dg
                dbs[c] += db
            }
        }
    }
}
