/// `ConvolutionBlockTail`'s Float passes, vectorised over 8 channels at a time
/// (`SIMD8<Float>`), on NHWC or (`blocked`) `nChw16c`. The generic passes serve `Double` (the derivative tests); these
/// compute the same values in the same order per channel (each channel's sums in
/// pixel order), so they agree with the generic passes to the last bit except for
/// the sign of a zero ReLU output (`-0` stays `-0`, which changes no sum).
///
/// Written for `Float` alone, not generic: the standard library's comparisons and
/// `pointwiseMax` on a generic `SIMD8<S>` run lane by lane (measured: slower than
/// scalar code), its concrete `SIMD8<Float>` operations compile to vector instructions.
extension ConvolutionBlockTail {
    private typealias Vector = SIMD8<Float>

    /// Where a pixel's channels are: `groups` groups (blocks of 16 when `blocked`,
    /// else one of all channels) of `perGroup` vectors holding `limit` values,
    /// pixels `pixelStride` apart, groups `plane * 16` apart (`blocked`).
    private var geometry: (groups: Int, perGroup: Int, limit: Int, pixelStride: Int) {
        blocked ? (channels / 16, 2, 16, 16) : (1, (channels + 7) / 8, channels, channels)
    }

    /// See `forward`.
    func forwardFloat(_ y: UnsafePointer<Float>, count: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                      normalized: UnsafeMutablePointer<Float>, scales: UnsafeMutablePointer<Float>,
                      output: UnsafeMutablePointer<Float>, threads: Int) {
        let (w, p, q, c) = (width, plane, pooledPlane, channels)
        let ys = SharedPointer(UnsafeMutablePointer(mutating: y)), xs = SharedPointer(normalized)
        let ss = SharedPointer(scales), os = SharedPointer(output)
        let gs = SharedPointer(UnsafeMutablePointer(mutating: gamma)), bs = SharedPointer(UnsafeMutablePointer(mutating: beta))
        let (oh, ow) = (height / 2, width / 2), inverse = 1 / Float(p), epsilon = Float(Self.epsilon)
        let (groups, perGroup, limit, ps) = geometry, vectors = groups * perGroup
        let planeStride = blocked ? p * 16 : 0, pooledStride = blocked ? q * 16 : 0
        parallelRanges(count, threads: threads) { images in
            withUnsafeTemporaryAllocation(of: Vector.self, capacity: 4 * vectors) { buffer in
                let mean = buffer.baseAddress!, scale = mean + vectors, g = scale + vectors, b = g + vectors
                for v in 0..<vectors {
                    g[v] = load(gs.base, v, c)
                    b[v] = load(bs.base, v, c)
                }
                for i in images {
                    let yi = ys.base + i * p * c, xi = xs.base + i * p * c, oi = os.base + i * q * c
                    mean.update(repeating: Vector(), count: vectors)
                    for k in 0..<p {
                        for group in 0..<groups {
                            let row = yi + group * planeStride + k * ps, m = mean + group * perGroup
                            for u in 0..<perGroup { m[u] += load(row, u, limit) }
                        }
                    }
                    for v in 0..<vectors { mean[v] *= inverse }
                    scale.update(repeating: Vector(), count: vectors)
                    for k in 0..<p {
                        for group in 0..<groups {
                            let row = yi + group * planeStride + k * ps, m = mean + group * perGroup, s = scale + group * perGroup
                            for u in 0..<perGroup { let d = load(row, u, limit) - m[u]; s[u] += d * d }
                        }
                    }
                    for v in 0..<vectors {
                        scale[v] = 1 / (scale[v] * inverse + epsilon).squareRoot()
                        store(scale[v], ss.base + i * c, v, c)
                    }
                    for k in 0..<p {
                        for group in 0..<groups {
                            let offset = group * planeStride + k * ps, m = mean + group * perGroup, s = scale + group * perGroup
                            for u in 0..<perGroup { store((load(yi + offset, u, limit) - m[u]) * s[u], xi + offset, u, limit) }
                        }
                    }
                    // Affine, ReLU and pooling in one pass over the normalised values.
                    for py in 0..<oh {
                        for px in 0..<ow {
                            for group in 0..<groups {
                                let a = xi + group * planeStride + ((2 * py) * w + 2 * px) * ps, d = a + w * ps
                                let out = oi + group * pooledStride + (py * ow + px) * ps
                                let gg = g + group * perGroup, bb = b + group * perGroup
                                for u in 0..<perGroup {
                                    let s0 = relu(gg[u] * load(a, u, limit) + bb[u]) + relu(gg[u] * load(a + ps, u, limit) + bb[u])
                                    let s1 = relu(gg[u] * load(d, u, limit) + bb[u]) + relu(gg[u] * load(d + ps, u, limit) + bb[u])
                                    store((s0 + s1) * 0.25, out, u, limit)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// See `backward`: writes each image's shares of ∂γ and ∂β to `shares`
    /// (`count x 2 x channels`) for the caller to add in image order.
    func backwardFloat(_ dOut: UnsafePointer<Float>, count: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                       normalized: UnsafePointer<Float>, scales: UnsafePointer<Float>,
                       dy: UnsafeMutablePointer<Float>, shares: UnsafeMutablePointer<Float>, threads: Int) {
        let (h, w, p, q, c) = (height, width, plane, pooledPlane, channels)
        let ds = SharedPointer(UnsafeMutablePointer(mutating: dOut)), xs = SharedPointer(UnsafeMutablePointer(mutating: normalized))
        let ss = SharedPointer(UnsafeMutablePointer(mutating: scales)), dys = SharedPointer(dy), shs = SharedPointer(shares)
        let gs = SharedPointer(UnsafeMutablePointer(mutating: gamma)), bs = SharedPointer(UnsafeMutablePointer(mutating: beta))
        let ow = w / 2, pooledRows = 2 * (h / 2), pooledColumns = 2 * ow, inverse = 1 / Float(p)
        let (groups, perGroup, limit, ps) = geometry, vectors = groups * perGroup
        let planeStride = blocked ? p * 16 : 0, pooledStride = blocked ? q * 16 : 0
        parallelRanges(count, threads: threads) { images in
            withUnsafeTemporaryAllocation(of: Vector.self, capacity: 5 * vectors) { buffer in
                let dg = buffer.baseAddress!, db = dg + vectors, g = db + vectors, b = g + vectors, a = b + vectors
                for v in 0..<vectors {
                    g[v] = load(gs.base, v, c)
                    b[v] = load(bs.base, v, c)
                }
                for i in images {
                    let xi = xs.base + i * p * c, di = ds.base + i * q * c, dyi = dys.base + i * p * c
                    dg.update(repeating: Vector(), count: vectors)
                    db.update(repeating: Vector(), count: vectors)
                    for y in 0..<pooledRows {
                        for x in 0..<pooledColumns {
                            for group in 0..<groups {
                                let xhat = xi + group * planeStride + (y * w + x) * ps
                                let src = di + group * pooledStride + ((y / 2) * ow + x / 2) * ps
                                let o = group * perGroup
                                for u in 0..<perGroup {
                                    let xv = load(xhat, u, limit)
                                    let d = reluGradient(load(src, u, limit) * 0.25, at: g[o + u] * xv + b[o + u])
                                    dg[o + u] += d * xv
                                    db[o + u] += d
                                }
                            }
                        }
                    }
                    for v in 0..<vectors {
                        store(dg[v], shs.base + 2 * i * c, v, c)
                        store(db[v], shs.base + 2 * i * c + c, v, c)
                        a[v] = load(ss.base + i * c, v, c) * g[v]
                    }
                    for y in 0..<h {
                        for x in 0..<w {
                            let pooled = y < pooledRows && x < pooledColumns
                            for group in 0..<groups {
                                let offset = group * planeStride + (y * w + x) * ps, xhat = xi + offset, out = dyi + offset
                                let src = di + group * pooledStride + ((y / 2) * ow + x / 2) * ps
                                let o = group * perGroup
                                for u in 0..<perGroup {
                                    let xv = load(xhat, u, limit)
                                    let d = pooled ? reluGradient(load(src, u, limit) * 0.25, at: g[o + u] * xv + b[o + u]) : Vector()
                                    store(a[o + u] * (d - db[o + u] * inverse - xv * dg[o + u] * inverse), out, u, limit)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `max(z, 0)` per lane, NaN kept (so that a diverged network's loss is NaN).
@inline(__always)
private func relu(_ z: SIMD8<Float>) -> SIMD8<Float> { z.replacing(with: 0, where: z .< 0) }

/// `g` where `z > 0`, else 0 (PyTorch's ReLU derivative: 0 at 0).
@inline(__always)
private func reluGradient(_ g: SIMD8<Float>, at z: SIMD8<Float>) -> SIMD8<Float> { g.replacing(with: 0, where: .!(z .> 0)) }

/// Vector `v` of a row of `c` values at `row`: values `8v ..< 8v + 8`, the lanes
/// past `c` zero.
@inline(__always)
private func load(_ row: UnsafeMutablePointer<Float>, _ v: Int, _ c: Int) -> SIMD8<Float> {
    let start = v * 8
    if start + 8 <= c { return UnsafeRawPointer(row + start).loadUnaligned(as: SIMD8<Float>.self) }
    var vector = SIMD8<Float>()
    for l in 0..<(c - start) { vector[l] = row[start + l] }
    return vector
}

/// Writes vector `v` of a row of `c` values at `row` (its lanes past `c` dropped).
@inline(__always)
private func store(_ vector: SIMD8<Float>, _ row: UnsafeMutablePointer<Float>, _ v: Int, _ c: Int) {
    let start = v * 8
    if start + 8 <= c { UnsafeMutableRawPointer(row + start).storeBytes(of: vector, as: SIMD8<Float>.self); return }
    for l in 0..<(c - start) { row[start + l] = vector[l] }
}
