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
            let a = UnsafeMutablePointer<S>.allocate(capacity: p)
            defer { a.deallocate() }
            for k in planes {
                let c = k / count
                let xhat = xs.base + k * p
                ss[k] = InstanceNormalization.normalize(ys.base + k * p, count: p, into: xhat)
                let (g, b) = (gs[c], bs[c])
                for i in 0..<p { a[i] = g * xhat[i] + b }
                ReLU.forward(a, count: p)
                AveragePooling.forward(a, height: h, width: w, into: os.base + k * q)
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
            let a = UnsafeMutablePointer<S>.allocate(capacity: p), da = UnsafeMutablePointer<S>.allocate(capacity: p)
            defer { a.deallocate(); da.deallocate() }
            for c in range {
                let (g, b) = (gs[c], bs[c])
                var dg: S = 0, db: S = 0
                for i in 0..<count {
                    let k = c * count + i
                    let xhat = xs.base + k * p
                    AveragePooling.backward(ds.base + k * q, height: h, width: w, into: da)
                    for j in 0..<p { a[j] = g * xhat[j] + b }
                    ReLU.backward(da, input: a, count: p)
                    InstanceNormalization.backward(da, normalized: xhat, scale: ss[k], gamma: g, count: p,
                                                   dy: dys.base + k * p, dGamma: &dg, dBeta: &db)
                }
                dgs[c] += dg
                dbs[c] += db
            }
        }
    }
}
