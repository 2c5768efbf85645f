/// The per-image, per-channel layers of a convolution block, each on one plane of
/// `height x width` values (small enough to stay in the first-level cache while a
/// block runs them one after the other).

/// Instance normalisation with affine parameters (Ulyanov et al. 2016; PyTorch's
/// `GroupNorm(C, C)` as DC's ConvNet uses): `out = γ (y - mean) / sqrt(var + ε) + β`,
/// mean and (biased) variance over the plane.
enum InstanceNormalization {
    /// PyTorch's default.
    static let epsilon = 1e-5

    /// Writes `x̂ = (y - mean) · s` to `normalized` and returns `s = 1/sqrt(var + ε)`.
    @inline(__always)
    static func normalize<S: NetworkScalar>(_ y: UnsafePointer<S>, count: Int, into normalized: UnsafeMutablePointer<S>) -> S {
        let mean = vectorSum(y, count: count) / S(count)
        let squares = vectorSquaredDeviation(y, from: mean, count: count)
        let scale = 1 / (squares / S(count) + S(epsilon)).squareRoot()
        for p in 0..<count { normalized[p] = (y[p] - mean) * scale }
        return scale
    }

    /// From `dOut`: adds ∂/∂γ and ∂/∂β to `dGamma`, `dBeta`, writes ∂/∂y to `dy`.
    /// `dy = s (g - mean(g) - x̂ · mean(g x̂))` with `g = γ dOut`.
    @inline(__always)
    static func backward<S: NetworkScalar>(_ dOut: UnsafePointer<S>, normalized: UnsafePointer<S>, scale: S, gamma: S,
                                          count: Int, dy: UnsafeMutablePointer<S>, dGamma: inout S, dBeta: inout S) {
        let dg = vectorDot(dOut, normalized, count: count), db = vectorSum(dOut, count: count)
        let n = S(count)
        let a = scale * gamma, b = scale * gamma * db / n, c = scale * gamma * dg / n
        for p in 0..<count {
            dy[p] = a * dOut[p] - b - normalized[p] * c
        }
        dGamma += dg
        dBeta += db
    }
}

/// 2x2 average pooling, stride 2 (floor: an odd last row or column is dropped).
enum AveragePooling {
    @inline(__always)
    static func forward<S: NetworkScalar>(_ x: UnsafePointer<S>, height: Int, width: Int, into out: UnsafeMutablePointer<S>) {
        let oh = height / 2, ow = width / 2
        for i in 0..<oh {
            let r0 = x + 2 * i * width, r1 = r0 + width
            for j in 0..<ow {
                out[i * ow + j] = (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) * S(0.25)
            }
        }
    }

    /// Overwrites `dx` (`height x width`) from `dOut` (`height/2 x width/2`).
    @inline(__always)
    static func backward<S: NetworkScalar>(_ dOut: UnsafePointer<S>, height: Int, width: Int, into dx: UnsafeMutablePointer<S>) {
        let oh = height / 2, ow = width / 2
        dx.update(repeating: 0, count: height * width)
        for i in 0..<oh {
            for j in 0..<ow {
                let g = dOut[i * ow + j] * S(0.25)
                let p = 2 * i * width + 2 * j
                dx[p] = g; dx[p + 1] = g; dx[p + width] = g; dx[p + width + 1] = g
            }
        }
    }
}

/// `max(x, 0)`; its derivative at 0 is taken as 0 (as PyTorch does).
enum ReLU {
    @inline(__always)
    static func forward<S: NetworkScalar>(_ x: UnsafeMutablePointer<S>, count: Int) {
        for p in 0..<count { x[p] = max(x[p], 0) }   // a select, so that it vectorises
    }

    /// Zeroes `d` wherever the layer's input `x` was not positive.
    @inline(__always)
    static func backward<S: NetworkScalar>(_ d: UnsafeMutablePointer<S>, input x: UnsafePointer<S>, count: Int) {
        for p in 0..<count { d[p] = x[p] > 0 ? d[p] : 0 }
    }
}
