import DistillNumerics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The infinitely wide network whose kernel a `NeuralKernel` is.
public enum NeuralKernelKind: String, Sendable, CaseIterable, Codable {
    /// The neural-network Gaussian process kernel (the network's output covariance at initialisation).
    case nngp
    /// The neural tangent kernel (gradient descent on the infinitely wide network, to convergence).
    case ntk
}

/// The NNGP or NTK kernel of a fully connected ReLU network with `depth` hidden
/// layers (NTK parameterisation, weight variance `σ_w²`, bias variance `σ_b²`,
/// then a dense readout), in Double, with its exact derivatives.
///
/// The closed-form arc-cosine recursion (Cho & Saul 2009; Lee et al. 2018;
/// Jacot et al. 2018; as in neural-tangents' `stax.Dense` + `stax.Relu`), for
/// inputs `x, x'` of dimension `d` (`q_l(x) = Σ_l(x, x)`):
///
///     Σ_1 = σ_w² ⟨x, x'⟩ / d + σ_b²,      Θ_1 = Σ_1
///     c_l = Σ_l / √(q_l(x) q_l(x')),      t_l = arccos c_l
///     K_l = √(q_l(x) q_l(x')) (sin t_l + (π - t_l) c_l) / 2π,   K̇_l = (π - t_l) / 2π
///     Σ_{l+1} = σ_w² K_l + σ_b²,          Θ_{l+1} = Σ_{l+1} + σ_w² K̇_l Θ_l
///     NNGP = Σ_{L+1},  NTK = Θ_{L+1}.
///
/// On the diagonal `c = 1` identically, so `q_{l+1} = σ_w² q_l / 2 + σ_b²` and
/// `Θ_{l+1}(x, x) = q_{l+1} + σ_w² Θ_l(x, x) / 2` (`diagonal(firstLayer:)`),
/// differentiated as such. Off the diagonal, `∂K_l/∂Σ_l = K̇_l`,
/// `∂K_l/∂q_l(x) = √(q_l(x) q_l(x')) sin t_l / (4π q_l(x))` and
/// `∂K̇_l/∂c_l = 1 / (2π sin t_l)`; the last is infinite at `c = ±1`, where `K̇`
/// as a function of the images is a cone (`t ≈ √(2(1 - c))` grows like the
/// distance between the images). There the symmetric derivative, the one central
/// differences converge to, is used: `∂K̇/∂c` is taken as 0 where
/// `1 - c² < coneEpsilon`.
public struct NeuralKernel: Sendable, Equatable, Codable {
    public var kind: NeuralKernelKind
    /// L, the number of hidden ReLU layers (at least 1).
    public var depth: Int
    /// σ_w².
    public var weightVariance: Double
    /// σ_b².
    public var biasVariance: Double

    /// Below this value of `1 - c²` the cone's derivative `∂K̇/∂c` is taken as 0.
    public static let coneEpsilon = 1e-12

    public init(kind: NeuralKernelKind, depth: Int, weightVariance: Double, biasVariance: Double) {
        precondition(depth >= 1, "NeuralKernel: depth must be at least 1")
        self.kind = kind
        self.depth = depth
        self.weightVariance = weightVariance
        self.biasVariance = biasVariance
    }

    /// `Σ_1 = σ_w² ⟨x, x'⟩ / d + σ_b²` for a dot product over `d` features.
    @inline(__always)
    public func firstLayer(dot: Double, features d: Int) -> Double {
        weightVariance * dot / Double(d) + biasVariance
    }

    /// `q_l(x)` for `l = 1...depth` from `q_1(x)`.
    public func variances(firstLayer q1: Double) -> [Double] {
        var q = [Double](repeating: q1, count: depth)
        for l in 1..<depth { q[l] = weightVariance * q[l - 1] / 2 + biasVariance }
        return q
    }

    /// `k(x, x)` and its derivative with respect to `q_1(x)`, in closed form (`c = 1`).
    public func diagonal(firstLayer q1: Double) -> (value: Double, derivative: Double) {
        // q_{l+1} = w q_l / 2 + b; Θ_{l+1} = q_{l+1} + w Θ_l / 2; dq_l/dq_1 = (w/2)^{l-1}.
        let w = weightVariance, b = biasVariance
        var q = q1, dq = 1.0, theta = q1, dTheta = 1.0
        for _ in 0..<depth {
            q = w * q / 2 + b
            dq *= w / 2
            theta = q + w * theta / 2
            dTheta = dq + w * dTheta / 2
        }
        switch kind {
        case .nngp: return (q, dq)
        case .ntk: return (theta, dTheta)
        }
    }

    /// `k(x, x')` from `Σ_1(x, x')` and the per-layer variances of the two inputs
    /// (`variances(firstLayer:)`), for `x ≠ x'` as entries of a matrix (identical
    /// images at different positions included: `c` is clamped to [-1, 1]).
    public func value(firstLayer sigma1: Double, _ qx: [Double], _ qy: [Double]) -> Double {
        precondition(qx.count >= depth && qy.count >= depth, "NeuralKernel.value: \(depth) variances per input expected")
        return qx.withUnsafeBufferPointer { qx in qy.withUnsafeBufferPointer { qy in value(firstLayer: sigma1, qx, qy) } }
    }

    /// `value(firstLayer:_:_:)` on buffers of at least `depth` variances.
    @inline(__always)
    func value(firstLayer sigma1: Double, _ qx: UnsafeBufferPointer<Double>, _ qy: UnsafeBufferPointer<Double>) -> Double {
        var sigma = sigma1, theta = sigma1
        for l in 0..<depth {
            let norm = (qx[l] * qy[l]).squareRoot()
            let c = min(1, max(-1, sigma / norm))
            let t = acos(c)
            let sine = max(0, (1 - c) * (1 + c)).squareRoot()
            let k = norm * (sine + (Double.pi - t) * c) / (2 * Double.pi)
            let kDot = (Double.pi - t) / (2 * Double.pi)
            sigma = weightVariance * k + biasVariance
            theta = sigma + weightVariance * kDot * theta
        }
        return kind == .ntk ? theta : sigma
    }

    /// The gradient of `k(x, x')` (as in `value`) with respect to `Σ_1(x, x')`,
    /// `q_1(x)` and `q_1(x')`.
    public func gradient(firstLayer sigma1: Double, _ qx: [Double], _ qy: [Double])
        -> (sigma1: Double, qx1: Double, qy1: Double) {
        precondition(qx.count >= depth && qy.count >= depth, "NeuralKernel.gradient: \(depth) variances per input expected")
        let slopes = self.slopes
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 5 * depth) { scratch in
            qx.withUnsafeBufferPointer { qx in
                qy.withUnsafeBufferPointer { qy in
                    slopes.withUnsafeBufferPointer { slopes in
                        gradient(firstLayer: sigma1, qx, qy, slopes: slopes, scratch: scratch)
                    }
                }
            }
        }
    }

    /// `(σ_w²/2)^l` for `l = 0..<depth`: `∂q_{l+1}/∂q_1`.
    var slopes: [Double] {
        var slope = 1.0
        var slopes = [Double](repeating: 1, count: depth)
        for l in 1..<depth { slope *= weightVariance / 2; slopes[l] = slope }
        return slopes
    }

    /// `gradient(firstLayer:_:_:)` on buffers of at least `depth` variances and
    /// slopes, with the layers' forward state kept in `scratch` (at least
    /// `5 · depth` values) instead of fresh arrays.
    @inline(__always)
    func gradient(firstLayer sigma1: Double, _ qx: UnsafeBufferPointer<Double>, _ qy: UnsafeBufferPointer<Double>,
                  slopes: UnsafeBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>)
        -> (sigma1: Double, qx1: Double, qy1: Double) {
        let w = weightVariance, b = biasVariance, twoPi = 2 * Double.pi, depth = self.depth
        // thetas, cs, sines, kDots, norms: depth values each.
        let thetas = 0, cs = depth, sines = 2 * depth, kDots = 3 * depth, norms = 4 * depth
        var sigma = sigma1, theta = sigma1
        for l in 0..<depth {
            scratch[thetas + l] = theta
            let norm = (qx[l] * qy[l]).squareRoot()
            let c = min(1, max(-1, sigma / norm))
            let t = acos(c)
            let sine = max(0, (1 - c) * (1 + c)).squareRoot()
            let k = norm * (sine + (Double.pi - t) * c) / twoPi
            let kDot = (Double.pi - t) / twoPi
            scratch[cs + l] = c; scratch[sines + l] = sine; scratch[kDots + l] = kDot; scratch[norms + l] = norm
            sigma = w * k + b
            theta = sigma + w * kDot * theta
        }
        // Reverse sweep: gS = ∂k/∂Σ_{l+1}, gT = ∂k/∂Θ_{l+1}.
        var gS = kind == .nngp ? 1.0 : 0.0, gT = kind == .ntk ? 1.0 : 0.0
        var gqx = 0.0, gqy = 0.0
        for l in stride(from: depth - 1, through: 0, by: -1) {
            gS += gT                               // Θ_{l+1} = Σ_{l+1} + w K̇ Θ_l
            let gKDot = w * scratch[thetas + l] * gT
            let gThetaL = w * scratch[kDots + l] * gT
            let gK = w * gS                        // Σ_{l+1} = w K + b
            let c = scratch[cs + l], norm = scratch[norms + l], sine = scratch[sines + l]
            let dKDotDc = (1 - c * c) < Self.coneEpsilon ? 0 : 1 / (twoPi * sine)
            let gC = gKDot * dKDotDc
            // c = Σ_l / norm, norm = √(qx qy): ∂c/∂Σ = 1/norm, ∂c/∂qx = -c / (2 qx).
            let gSigmaL = gK * scratch[kDots + l] + gC / norm
            gqx += slopes[l] * (gK * norm * sine / (2 * twoPi * qx[l]) - gC * c / (2 * qx[l]))
            gqy += slopes[l] * (gK * norm * sine / (2 * twoPi * qy[l]) - gC * c / (2 * qy[l]))
            gS = gSigmaL
            gT = gThetaL
        }
        return (gS + gT, gqx, gqy)
    }

    /// `q_1` of every row of `x` (standardised images, one per row).
    public func firstLayerVariances(_ x: Matrix) -> [Double] {
        let p = x.columns
        return x.values.withUnsafeBufferPointer { v in
            (0..<x.rows).map { i in
                var s = 0.0
                for k in 0..<p { s += v[i * p + k] * v[i * p + k] }
                return firstLayer(dot: s, features: p)
            }
        }
    }

    /// The per-layer variances of every row (`variances(firstLayer:)` of each
    /// `q_1`), flattened: row `j`'s at `j · depth ..< (j + 1) · depth`.
    func layerVariances(_ q1: [Double]) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(q1.count * depth)
        for q in q1 { out.append(contentsOf: variances(firstLayer: q)) }
        return out
    }

    /// `K(X, Y)`, `rows(X) x rows(Y)`, every entry by the off-diagonal formula
    /// (for two different sets; use `gram` for a set against itself).
    public func matrix(_ x: Matrix, _ y: Matrix) -> Matrix {
        let dots = x.multipliedTransposed(by: y)
        let qx = firstLayerVariances(x).map(variances), qy = firstLayerVariances(y).map(variances)
        var out = Matrix(zeros: x.rows, y.rows)
        for i in 0..<x.rows {
            for j in 0..<y.rows { out[i, j] = value(firstLayer: firstLayer(dot: dots[i, j], features: x.columns), qx[i], qy[j]) }
        }
        return out
    }

    /// `K(S, S)`, `m x m`: the closed form on the diagonal, the recursion off it.
    public func gram(_ s: Matrix) -> Matrix {
        gram(dots: s.multipliedTransposed(by: s), firstLayer: firstLayerVariances(s), features: s.columns, threads: 1)
    }

    /// `K(S, S)` from `D = S Sᵀ` (only its strict lower triangle is read) and
    /// `q_1` of every row (`firstLayerVariances`), for `d` features; the rows
    /// split over `threads` (the same bits for any count: every entry is computed
    /// on its own).
    func gram(dots: Matrix, firstLayer q1: [Double], features d: Int, threads: Int) -> Matrix {
        let m = q1.count, q = layerVariances(q1)
        var values = [Double](repeating: 0, count: m * m)
        gramRows(Parallel.triangularChunks(of: m, parts: threads), dots: dots, firstLayer: q1, layers: q, features: d, into: &values)
        return Matrix(rows: m, columns: m, values: values)
    }

    /// `gram(dots:firstLayer:features:threads:)`, the same bits, in blocks of
    /// `blockRows` rows (each split over `threads` by area), `stopRequested`
    /// asked before each block; nil once it answers true. A block of rows
    /// `a..<b` computes about `(b - a) · b` entries.
    func gram(dots: Matrix, firstLayer q1: [Double], features d: Int, threads: Int,
              blockRows: Int, stopRequested: () -> Bool) -> Matrix? {
        let m = q1.count, q = layerVariances(q1), block = max(1, blockRows)
        var values = [Double](repeating: 0, count: m * m)
        for start in stride(from: 0, to: m, by: block) {
            if stopRequested() { return nil }
            gramRows(Parallel.triangularChunks(of: start..<min(m, start + block), parts: threads),
                     dots: dots, firstLayer: q1, layers: q, features: d, into: &values)
        }
        return Matrix(rows: m, columns: m, values: values)
    }

    /// The rows `j` of `chunks` (contiguous, one per thread) of `K(S, S)` into
    /// `values` (`m x m`, row-major): the diagonal by its closed form, the
    /// entries `(j, k < j)` by the recursion, each also written at `(k, j)`.
    /// `q` is `layerVariances(q1)`; every entry is computed on its own (the
    /// same bits for any split).
    private func gramRows(_ chunks: [Range<Int>], dots: Matrix, firstLayer q1: [Double], layers q: [Double], features d: Int,
                          into values: inout [Double]) {
        let m = q1.count, depth = self.depth
        // Each part: the entries (j, k < j) of its rows, row after row.
        let blocks = Parallel.map(parts: chunks.count) { part -> [Double] in
            let r = chunks[part], size = (r.lowerBound + r.upperBound) * r.count / 2
            return [Double](unsafeUninitializedCapacity: size) { block, initialized in
                dots.values.withUnsafeBufferPointer { dots in
                    q.withUnsafeBufferPointer { q in
                        var index = 0
                        for j in r {
                            let qj = UnsafeBufferPointer(rebasing: q[(j * depth)..<((j + 1) * depth)])
                            for k in 0..<j {
                                let qk = UnsafeBufferPointer(rebasing: q[(k * depth)..<((k + 1) * depth)])
                                block.initializeElement(at: index, to: value(firstLayer: firstLayer(dot: dots[j * m + k], features: d), qj, qk))
                                index += 1
                            }
                        }
                    }
                }
                initialized = size
            }
        }
        values.withUnsafeMutableBufferPointer { out in
            for (part, r) in chunks.enumerated() {
                blocks[part].withUnsafeBufferPointer { block in
                    var index = 0
                    for j in r {
                        out[j * m + j] = diagonal(firstLayer: q1[j]).value
                        for k in 0..<j {
                            let v = block[index]
                            index += 1
                            out[j * m + k] = v
                            out[k * m + j] = v
                        }
                    }
                }
            }
        }
    }

    /// `∂⟨G, K(X, Y)⟩/∂Y` (`rows(Y) x d`) for a cotangent `G` (`rows(X) x rows(Y)`), X fixed.
    public func matrixVJP(_ x: Matrix, _ y: Matrix, cotangent g: Matrix) -> Matrix {
        let d = x.columns, scale = weightVariance / Double(d)
        let dots = x.multipliedTransposed(by: y)
        let qx = firstLayerVariances(x).map(variances), qy = firstLayerVariances(y).map(variances)
        var dDots = Matrix(zeros: x.rows, y.rows)
        var dQy = [Double](repeating: 0, count: y.rows)
        for i in 0..<x.rows {
            for j in 0..<y.rows where g[i, j] != 0 {
                let grad = gradient(firstLayer: firstLayer(dot: dots[i, j], features: d), qx[i], qy[j])
                dDots[i, j] = g[i, j] * grad.sigma1 * scale
                dQy[j] += g[i, j] * grad.qy1
            }
        }
        // Σ_1 = scale ⟨x_i, y_j⟩ + b, q_1(y_j) = scale ‖y_j‖² + b.
        var out = dDots.transposedMultiplied(by: x)
        for j in 0..<y.rows {
            for k in 0..<d { out[j, k] += 2 * scale * dQy[j] * y[j, k] }
        }
        return out
    }

    /// `∂⟨G, K(S, S)⟩/∂S` (`m x d`) for a cotangent `G` (`m x m`, any; the
    /// diagonal by its closed form).
    public func gramVJP(_ s: Matrix, cotangent g: Matrix) -> Matrix {
        gramVJP(s, dots: s.multipliedTransposed(by: s), firstLayer: firstLayerVariances(s), cotangent: g, threads: 1)
    }

    /// `gramVJP(_:cotangent:)` with `D = S Sᵀ` (strict lower triangle read) and
    /// `q_1` of every row given, the entries' gradients and the product with `S`
    /// split over `threads`. The cotangents on `q_1` are summed in the one order
    /// the single-threaded loop takes, so the result is the same bits for any count.
    func gramVJP(_ s: Matrix, dots: Matrix, firstLayer q1: [Double], cotangent g: Matrix, threads: Int) -> Matrix {
        let m = s.rows, d = s.columns, scale = weightVariance / Double(d), depth = self.depth
        let q = layerVariances(q1), slopes = self.slopes
        let chunks = Parallel.triangularChunks(of: m, parts: threads)
        // Each part, for the entries (j, k < j) of its rows with G_jk + G_kj ≠ 0, in
        // row order: the cotangent on ⟨s_j, s_k⟩ and the two terms on q_1(s_j), q_1(s_k).
        let blocks = Parallel.map(parts: chunks.count) { part -> [Double] in
            let r = chunks[part], size = 3 * (r.lowerBound + r.upperBound) * r.count / 2
            return [Double](unsafeUninitializedCapacity: size) { block, initialized in
                var index = 0
                withUnsafeTemporaryAllocation(of: Double.self, capacity: 5 * depth) { scratch in
                    dots.values.withUnsafeBufferPointer { dots in
                    g.values.withUnsafeBufferPointer { g in
                    q.withUnsafeBufferPointer { q in
                    slopes.withUnsafeBufferPointer { slopes in
                        for j in r {
                            let qj = UnsafeBufferPointer(rebasing: q[(j * depth)..<((j + 1) * depth)])
                            for k in 0..<j {
                                let gjk = g[j * m + k] + g[k * m + j]
                                if gjk == 0 { continue }
                                let qk = UnsafeBufferPointer(rebasing: q[(k * depth)..<((k + 1) * depth)])
                                let grad = gradient(firstLayer: firstLayer(dot: dots[j * m + k], features: d), qj, qk,
                                                    slopes: slopes, scratch: scratch)
                                block.initializeElement(at: index, to: gjk * grad.sigma1 * scale)
                                block.initializeElement(at: index + 1, to: gjk * grad.qx1)
                                block.initializeElement(at: index + 2, to: gjk * grad.qy1)
                                index += 3
                            }
                        }
                    }
                    }
                    }
                    }
                }
                initialized = index
            }
        }
        var dDots = [Double](repeating: 0, count: m * m)      // symmetric cotangent on ⟨s_j, s_k⟩
        var dQ = [Double](repeating: 0, count: m)
        dDots.withUnsafeMutableBufferPointer { dDots in
            dQ.withUnsafeMutableBufferPointer { dQ in
                g.values.withUnsafeBufferPointer { g in
                    for (part, r) in chunks.enumerated() {
                        blocks[part].withUnsafeBufferPointer { block in
                            var index = 0
                            for j in r {
                                dQ[j] += g[j * m + j] * diagonal(firstLayer: q1[j]).derivative
                                for k in 0..<j {
                                    if g[j * m + k] + g[k * m + j] == 0 { continue }
                                    dDots[j * m + k] = block[index]
                                    dDots[k * m + j] = block[index]
                                    dQ[j] += block[index + 1]
                                    dQ[k] += block[index + 2]
                                    index += 3
                                }
                            }
                        }
                    }
                }
            }
        }
        var out = Matrix(rows: m, columns: m, values: dDots).multiplied(by: s, threads: threads)
        out.values.withUnsafeMutableBufferPointer { out in
            s.values.withUnsafeBufferPointer { s in
                for j in 0..<m {
                    for k in 0..<d { out[j * d + k] += 2 * scale * dQ[j] * s[j * d + k] }
                }
            }
        }
        return out
    }

    /// The directional derivative of `K(S, S)` along `Ṡ` (`m x m`).
    public func gramJVP(_ s: Matrix, tangent sDot: Matrix) -> Matrix {
        let m = s.rows, d = s.columns, scale = weightVariance / Double(d)
        let dots = s.multipliedTransposed(by: s)
        let mixed = s.multipliedTransposed(by: sDot)     // ⟨s_j, ṡ_k⟩
        let q1 = firstLayerVariances(s), q = q1.map(variances)
        var out = Matrix(zeros: m, m)
        for j in 0..<m {
            let qDotJ = 2 * scale * mixed[j, j]
            out[j, j] = diagonal(firstLayer: q1[j]).derivative * qDotJ
            for k in 0..<j {
                let grad = gradient(firstLayer: firstLayer(dot: dots[j, k], features: d), q[j], q[k])
                let v = grad.sigma1 * scale * (mixed[j, k] + mixed[k, j]) + grad.qx1 * qDotJ + grad.qy1 * 2 * scale * mixed[k, k]
                out[j, k] = v
                out[k, j] = v
            }
        }
        return out
    }
}
