/// A dense row-major matrix of `Double`.
///
/// Small on purpose: the distilled set and the inner model are tiny
/// (`m x p` and `p x C`), so these products are plain loops with the
/// innermost loop running over contiguous memory.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public var values: [Double]

    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns, "Matrix: \(values.count) values for \(rows) x \(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(zeros rows: Int, _ columns: Int) {
        self.init(rows: rows, columns: columns, values: [Double](repeating: 0, count: rows * columns))
    }

    @inline(__always)
    public subscript(row: Int, column: Int) -> Double {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// `self · other`
    public func multiplied(by other: Matrix) -> Matrix {
        precondition(columns == other.rows, "Matrix product: \(rows)x\(columns) · \(other.rows)x\(other.columns)")
        var out = Matrix(zeros: rows, other.columns)
        let n = other.columns
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    for i in 0..<rows {
                        for k in 0..<columns {
                            let aik = a[i * columns + k]
                            if aik == 0 { continue }
                            let bk = k * n, ci = i * n
                            for j in 0..<n { c[ci + j] += aik * b[bk + j] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `selfᵀ · other`
    public func transposedMultiplied(by other: Matrix) -> Matrix {
        precondition(rows == other.rows, "Matrix product: (\(rows)x\(columns))ᵀ · \(other.rows)x\(other.columns)")
        var out = Matrix(zeros: columns, other.columns)
        let n = other.columns
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    for i in 0..<rows {
                        let bi = i * n
                        for k in 0..<columns {
                            let aik = a[i * columns + k]
                            if aik == 0 { continue }
                            let ck = k * n
                            for j in 0..<n { c[ck + j] += aik * b[bi + j] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `self · otherᵀ`
    public func multipliedTransposed(by other: Matrix) -> Matrix {
        precondition(columns == other.columns, "Matrix product: \(rows)x\(columns) · (\(other.rows)x\(other.columns))ᵀ")
        var out = Matrix(zeros: rows, other.rows)
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    for i in 0..<rows {
                        for j in 0..<other.rows {
                            var s = 0.0
                            for k in 0..<columns { s += a[i * columns + k] * b[j * columns + k] }
                            c[i * other.rows + j] = s
                        }
                    }
                }
            }
        }
        return out
    }

    /// `⟨self, other⟩ = Σ self_ij other_ij`
    public func dot(_ other: Matrix) -> Double {
        precondition(values.count == other.values.count, "Matrix dot: size mismatch")
        var s = 0.0
        for i in values.indices { s += values[i] * other.values[i] }
        return s
    }

    /// The Frobenius norm.
    public var norm: Double { dot(self).squareRoot() }

    /// `self + alpha · other`
    public func adding(_ other: Matrix, scaledBy alpha: Double = 1) -> Matrix {
        precondition(values.count == other.values.count, "Matrix sum: size mismatch")
        var out = self
        for i in values.indices { out.values[i] += alpha * other.values[i] }
        return out
    }

    /// Clamps every entry into `range`.
    public mutating func clamp(to range: ClosedRange<Double>) {
        for i in values.indices { values[i] = min(max(values[i], range.lowerBound), range.upperBound) }
    }

    /// `alpha · self`
    public func scaled(by alpha: Double) -> Matrix {
        Matrix(rows: rows, columns: columns, values: values.map { $0 * alpha })
    }
}
