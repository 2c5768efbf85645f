import DistillNumerics

/// The readability term of the outer objective: a pull of every synthetic
/// image towards the mean training image of its class,
///
///     R(S) = weight · (1/m) Σ_j ‖s_j - μ_class(j)‖²,   ∇R = (2 · weight / m) (S - M),
///
/// where row j of `M` is the mean of image j's class.
public struct ClassMeanPull: Sendable {
    public let weight: Double
    /// `M`: the class mean of each synthetic image, in row order.
    public let targets: Matrix

    /// - Parameters:
    ///   - classMeans: one mean image per class (`classes x features`).
    ///   - imageClasses: the class of each synthetic image row.
    public init(weight: Double, classMeans: Matrix, imageClasses: [Int]) {
        self.weight = weight
        var targets = Matrix(zeros: imageClasses.count, classMeans.columns)
        for (row, c) in imageClasses.enumerated() {
            for j in 0..<classMeans.columns { targets[row, j] = classMeans[c, j] }
        }
        self.targets = targets
    }

    public func value(_ images: Matrix) -> Double {
        let d = images.adding(targets, scaledBy: -1)
        return weight * d.dot(d) / Double(images.rows)
    }

    public func gradient(_ images: Matrix) -> Matrix {
        images.adding(targets, scaledBy: -1).scaled(by: 2 * weight / Double(images.rows))
    }

    /// `value(images)` and `imageGradient + gradient(images)` in one sweep over
    /// the images, the same bits as those calls: the difference `d = S - M`, its
    /// dot product in `Matrix.dot`'s order (eight partial sums, then the tail) and
    /// `g + d · s` (`s = 2 · weight / m`; adding `1 · x` is adding `x`).
    public func value(_ images: Matrix, addingGradientTo imageGradient: Matrix) -> (value: Double, imageGradient: Matrix) {
        precondition(images.values.count == targets.values.count && imageGradient.values.count == targets.values.count,
                     "ClassMeanPull: size mismatch")
        let count = targets.values.count, whole = count - count % 8
        let scale = 2 * weight / Double(images.rows)
        var squares = SIMD8<Double>(), tail = 0.0
        let out = [Double](unsafeUninitializedCapacity: count) { out, initialized in
            images.values.withUnsafeBufferPointer { s in
                targets.values.withUnsafeBufferPointer { t in
                    imageGradient.values.withUnsafeBufferPointer { g in
                        guard let s = s.baseAddress, let t = t.baseAddress, let g = g.baseAddress,
                              let o = out.baseAddress else { return }
                        func load(_ p: UnsafePointer<Double>, _ i: Int) -> SIMD8<Double> {
                            UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Double>.self)
                        }
                        var i = 0
                        while i < whole {
                            let d = load(s, i) - load(t, i)
                            squares += d * d
                            UnsafeMutableRawPointer(o + i).storeBytes(of: load(g, i) + d * scale, as: SIMD8<Double>.self)
                            i += 8
                        }
                        while i < count {
                            let d = s[i] - t[i]
                            tail += d * d
                            o[i] = g[i] + d * scale
                            i += 1
                        }
                    }
                }
            }
            initialized = count
        }
        let dot = squares.sum() + tail
        return (weight * dot / Double(images.rows), Matrix(rows: images.rows, columns: images.columns, values: out))
    }
}
