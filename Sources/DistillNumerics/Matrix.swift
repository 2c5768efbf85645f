import CDistillKernels

/// A dense row-major matrix of `Double`.
///
/// Small on purpose: the distilled set and the inner model are tiny
/// (`m x p` and `p x C`). The products run on the Double kernels of
/// CDistillKernels (AVX-512 where the CPU has it), each in the loop order that
/// vectorises over a long contiguous dimension rather than over the few classes.
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

    /// Which implementation of the products runs (the portable one is for checking).
    enum ProductKernel {
        case automatic, portable

        var code: Int32 { self == .automatic ? DISTILL_KERNEL_AVX512 : DISTILL_KERNEL_PORTABLE }
    }

    /// Below this many columns, a right-hand factor is transposed so that the
    /// product runs as dot products over the long shared dimension.
    static let narrow = 16

    /// `selfᵀ`
    public func transposed() -> Matrix {
        let (r, c) = (rows, columns)
        let out = [Double](unsafeUninitializedCapacity: r * c) { buffer, initialized in
            values.withUnsafeBufferPointer { a in distill_matrix_transpose(r, c, a.baseAddress, c, buffer.baseAddress, r) }
            initialized = r * c
        }
        return Matrix(rows: c, columns: r, values: out)
    }

    /// `self · other`
    public func multiplied(by other: Matrix) -> Matrix {
        multiplied(by: other, kernel: .automatic)
    }

    func multiplied(by other: Matrix, kernel: ProductKernel) -> Matrix {
        precondition(columns == other.rows, "Matrix product: \(rows)x\(columns) · \(other.rows)x\(other.columns)")
        if other.columns < Self.narrow {   // a few classes: dots over the long dimension
            return Self.product(distill_matrix_nt, kernel, rows, other.columns, columns, self, other.transposed())
        }
        return Self.product(distill_matrix_nn, kernel, rows, other.columns, columns, self, other)
    }

    /// `selfᵀ · other`
    public func transposedMultiplied(by other: Matrix) -> Matrix {
        transposedMultiplied(by: other, kernel: .automatic)
    }

    func transposedMultiplied(by other: Matrix, kernel: ProductKernel) -> Matrix {
        precondition(rows == other.rows, "Matrix product: (\(rows)x\(columns))ᵀ · \(other.rows)x\(other.columns)")
        return Self.product(distill_matrix_tn, kernel, columns, other.columns, rows, self, other)
    }

    /// `self · otherᵀ`
    public func multipliedTransposed(by other: Matrix) -> Matrix {
        multipliedTransposed(by: other, kernel: .automatic)
    }

    func multipliedTransposed(by other: Matrix, kernel: ProductKernel) -> Matrix {
        precondition(columns == other.columns, "Matrix product: \(rows)x\(columns) · (\(other.rows)x\(other.columns))ᵀ")
        if columns < Self.narrow {   // a short shared dimension: vectorise over the long result rows
            return Self.product(distill_matrix_nn, kernel, rows, other.rows, columns, self, other.transposed())
        }
        return Self.product(distill_matrix_nt, kernel, rows, other.rows, columns, self, other)
    }

    private typealias ProductFunction = (Int32, Int, Int, Int, UnsafePointer<Double>?, Int,
                                         UnsafePointer<Double>?, Int, UnsafeMutablePointer<Double>?, Int) -> Void

    /// The `m x n` result of `function` on `a` and `b` (row-major, their own column
    /// counts as leading dimensions), depth `k`.
    private static func product(_ function: ProductFunction, _ kernel: ProductKernel,
                                _ m: Int, _ n: Int, _ k: Int, _ a: Matrix, _ b: Matrix) -> Matrix {
        let out = [Double](unsafeUninitializedCapacity: m * n) { buffer, initialized in
            a.values.withUnsafeBufferPointer { a0 in
                b.values.withUnsafeBufferPointer { b0 in
                    function(kernel.code, m, n, k, a0.baseAddress, a.columns, b0.baseAddress, b.columns,
                             buffer.baseAddress, n)
                }
            }
            initialized = m * n
        }
        return Matrix(rows: m, columns: n, values: out)
    }

    /// `⟨self, other⟩ = Σ self_ij other_ij`
    public func dot(_ other: Matrix) -> Double {
        precondition(values.count == other.values.count, "Matrix dot: size mismatch")
        return values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in Self.dot(a, b) }
        }
    }

    /// A dot product with eight independent partial sums (so that it vectorises).
    static func dot(_ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>) -> Double {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        let n = min(a.count, b.count), whole = n - n % 8
        var s = SIMD8<Double>()
        var i = 0
        while i < whole {
            s += UnsafeRawPointer(pa + i).loadUnaligned(as: SIMD8<Double>.self)
                * UnsafeRawPointer(pb + i).loadUnaligned(as: SIMD8<Double>.self)
            i += 8
        }
        var tail = 0.0
        while i < n { tail += pa[i] * pb[i]; i += 1 }
        return s.sum() + tail
    }

    /// The Frobenius norm.
    public var norm: Double { dot(self).squareRoot() }

    /// `self + alpha · other`
    public func adding(_ other: Matrix, scaledBy alpha: Double = 1) -> Matrix {
        precondition(values.count == other.values.count, "Matrix sum: size mismatch")
        return elementwise(other) { a, b in a + alpha * b }
    }

    /// Clamps every entry into `range`.
    public mutating func clamp(to range: ClosedRange<Double>) {
        for i in values.indices { values[i] = min(max(values[i], range.lowerBound), range.upperBound) }
    }

    /// `alpha · self`
    public func scaled(by alpha: Double) -> Matrix {
        elementwise(self) { a, _ in a * alpha }
    }

    /// `alpha · self + beta · other`, rounded as `scaled(by: alpha).adding(other, scaledBy: beta)`.
    public func scaled(by alpha: Double, adding other: Matrix, scaledBy beta: Double) -> Matrix {
        precondition(values.count == other.values.count, "Matrix sum: size mismatch")
        return elementwise(other) { a, b in a * alpha + beta * b }
    }

    /// `f(self_ij, other_ij)` for every element (same sizes), into a new matrix.
    @inline(__always)
    private func elementwise(_ other: Matrix, _ f: (Double, Double) -> Double) -> Matrix {
        let count = values.count
        let out = [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            values.withUnsafeBufferPointer { a in
                other.values.withUnsafeBufferPointer { b in
                    for i in 0..<count { buffer[i] = f(a[i], b[i]) }
                }
            }
            initialized = count
        }
        return Matrix(rows: rows, columns: columns, values: out)
    }
}
