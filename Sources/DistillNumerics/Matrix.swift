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

    /// `self · other`, the rows of the result split over `threads` in contiguous
    /// chunks, by a kernel blocked for larger products (`distill_matrix_nn_blocked`
    /// when `other` has at least 16 columns); every entry is computed exactly as
    /// `multiplied(by:)` computes it (the kernels' entries do not depend on their
    /// neighbours), so the result is the same bits for any thread count.
    public func multiplied(by other: Matrix, threads: Int) -> Matrix {
        precondition(columns == other.rows, "Matrix product: \(rows)x\(columns) · \(other.rows)x\(other.columns)")
        if other.columns < Self.narrow {
            return Self.product(distill_matrix_nt, .automatic, rows, other.columns, columns, self, other.transposed(), threads: threads)
        }
        return Self.product(distill_matrix_nn_blocked, .automatic, rows, other.columns, columns, self, other, threads: threads)
    }

    /// `alpha · (self · bᵀ) + beta · (c · dᵀ)`, the same bits as
    /// `multipliedTransposed(by: b).scaled(by: alpha, adding: c.multipliedTransposed(by: d), scaledBy: beta)`
    /// (`self` and `c` `m x k` and `m x l`, `b` and `d` `n x k` and `n x l`; the result
    /// `m x n`), the rows of the result split over `threads`. Each part goes through
    /// its rows in blocks of `sumBlockRows`: the block of the first product is written
    /// into the result, the second into a small scratch block that stays in cache,
    /// and the two are combined while the block is in cache, so the result is
    /// written to memory once, not three times.
    public func multipliedTransposed(by b: Matrix, scaledBy alpha: Double, adding c: Matrix,
                                     multipliedTransposed d: Matrix, scaledBy beta: Double, threads: Int) -> Matrix {
        precondition(columns == b.columns && c.columns == d.columns && rows == c.rows && b.rows == d.rows,
                     "Matrix sum of products: \(rows)x\(columns) · (\(b.rows)x\(b.columns))ᵀ + \(c.rows)x\(c.columns) · (\(d.rows)x\(d.columns))ᵀ")
        let (m, n) = (rows, b.rows), code = ProductKernel.automatic.code
        // The kernel and right-hand operand `multipliedTransposed(by:)` takes for each product.
        func operands(_ a: Matrix, _ b: Matrix) -> (ProductFunction, Matrix) {
            a.columns < Self.narrow ? (distill_matrix_nn, b.transposed()) : (distill_matrix_nt, b)
        }
        let (first, right1) = operands(self, b), (second, right2) = operands(c, d)
        let chunks = Parallel.chunks(of: m, parts: threads), block = Self.sumBlockRows
        let out = [Double](unsafeUninitializedCapacity: m * n) { out, initialized in
            let target = SendableBuffer(out)
            _ = Parallel.map(parts: chunks.count) { part -> Bool in
                guard let base = target.base, !chunks[part].isEmpty, n > 0 else { return true }
                var scratch = [Double](repeating: 0, count: block * n)
                scratch.withUnsafeMutableBufferPointer { scratch in
                    guard let scratchRows = scratch.baseAddress else { return }
                    for r0 in stride(from: chunks[part].lowerBound, to: chunks[part].upperBound, by: block) {
                        let r = r0..<min(r0 + block, chunks[part].upperBound)
                        let result = base + r0 * n
                        Self.rowsProduct(first, code, r, n, self, right1, into: result)
                        Self.rowsProduct(second, code, r, n, c, right2, into: scratchRows)
                        // As `scaled(by:adding:scaledBy:)` rounds it.
                        for i in 0..<(r.count * n) { result[i] = result[i] * alpha + beta * scratchRows[i] }
                    }
                }
                return true
            }
            initialized = m * n   // every part wrote its rows
        }
        return Matrix(rows: m, columns: n, values: out)
    }

    /// Rows per block of the sum of two products (`multipliedTransposed(by:scaledBy:adding:…)`):
    /// the AVX-512 `nn` kernel's tile height, so that a block of 784 columns is 25 KB.
    static let sumBlockRows = 4

    /// Rows `r` of `function` on `a` and `b` (`b` as the kernel reads it, its own
    /// column count as leading dimension), `n` columns, into `result` (leading dimension `n`).
    private static func rowsProduct(_ function: ProductFunction, _ code: Int32, _ r: Range<Int>, _ n: Int,
                                    _ a: Matrix, _ b: Matrix, into result: UnsafeMutablePointer<Double>) {
        a.values.withUnsafeBufferPointer { a0 in
            b.values.withUnsafeBufferPointer { b0 in
                function(code, r.count, n, a.columns, a0.baseAddress.map { $0 + r.lowerBound * a.columns }, a.columns,
                         b0.baseAddress, b.columns, result, n)
            }
        }
    }

    /// `self · selfᵀ` (`rows x rows`, symmetric), bit for bit what
    /// `multipliedTransposed(by: self)` returns, for about half the work: only
    /// the lower triangle is computed (its rows split over `threads` by area) and
    /// mirrored. Exact because each entry of that product is a sum of products
    /// whose two factors may be swapped without changing a bit.
    public func multipliedBySelfTransposed(threads: Int) -> Matrix {
        guard columns >= Self.narrow else { return multipliedTransposed(by: self) }
        let m = rows
        var out = [Double](repeating: 0, count: m * m)
        // The rows split over `threads` by area.
        selfProductRows(Parallel.triangularChunks(of: m, parts: threads), into: &out)
        Self.mirrorLowerTriangle(&out, m)
        return Matrix(rows: m, columns: m, values: out)
    }

    /// `multipliedBySelfTransposed(threads:)`, the same bits, its lower triangle
    /// computed in blocks of `blockRows` rows (each split over `threads` by
    /// area), `stopRequested` asked before each block (before the whole product
    /// for fewer than 16 columns, which takes the plain product); nil once it
    /// answers true. A block of rows `a..<b` costs about `(b - a) · b · columns`
    /// multiply-adds.
    public func multipliedBySelfTransposed(threads: Int, blockRows: Int, stopRequested: () -> Bool) -> Matrix? {
        guard columns >= Self.narrow else { return stopRequested() ? nil : multipliedTransposed(by: self) }
        let m = rows, block = max(1, blockRows)
        var out = [Double](repeating: 0, count: m * m)
        for start in stride(from: 0, to: m, by: block) {
            if stopRequested() { return nil }
            selfProductRows(Parallel.triangularChunks(of: start..<min(m, start + block), parts: threads), into: &out)
        }
        Self.mirrorLowerTriangle(&out, m)
        return Matrix(rows: m, columns: m, values: out)
    }

    /// The entries `(i, j ≤ i)` of `self · selfᵀ` for the rows `i` of `chunks`
    /// (contiguous, one per thread) into `out` (`rows x rows`, row-major), in
    /// bands of `selfGramBand` rows, each against the rows up to its last one
    /// (every entry the same bits for any bands: a sum over the columns in one order).
    private func selfProductRows(_ chunks: [Range<Int>], into out: inout [Double]) {
        let m = rows, p = columns, code = ProductKernel.automatic.code, band = Self.selfGramBand
        out.withUnsafeMutableBufferPointer { out in
            let target = SendableBuffer(out)
            values.withUnsafeBufferPointer { a in
                let source = SendableBuffer(a)
                _ = Parallel.map(parts: chunks.count) { part -> Bool in
                    var r0 = chunks[part].lowerBound
                    while r0 < chunks[part].upperBound {
                        let r1 = min(chunks[part].upperBound, r0 + band)
                        distill_matrix_nt(code, r1 - r0, r1, p, source.base.map { $0 + r0 * p }, p,
                                          source.base, p, target.base.map { $0 + r0 * m }, m)
                        r0 = r1
                    }
                    return true
                }
            }
        }
    }

    /// Copies the strict lower triangle of `out` (`m x m`, row-major) onto its upper one.
    private static func mirrorLowerTriangle(_ out: inout [Double], _ m: Int) {
        out.withUnsafeMutableBufferPointer { out in
            for i in 0..<m {
                for j in 0..<i { out[j * m + i] = out[i * m + j] }
            }
        }
    }

    /// Rows per band of `multipliedBySelfTransposed` (the part of the band above
    /// the diagonal, about `band² / 2` entries, is computed and dropped).
    static let selfGramBand = 32

    private typealias ProductFunction = @Sendable (Int32, Int, Int, Int, UnsafePointer<Double>?, Int,
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

    /// `product` with the rows of the result (those of `a`) split over `threads`.
    private static func product(_ function: ProductFunction, _ kernel: ProductKernel,
                                _ m: Int, _ n: Int, _ k: Int, _ a: Matrix, _ b: Matrix, threads: Int) -> Matrix {
        let chunks = Parallel.chunks(of: m, parts: threads), code = kernel.code
        let blocks = Parallel.map(parts: chunks.count) { part -> [Double] in
            let r = chunks[part]
            return [Double](unsafeUninitializedCapacity: r.count * n) { buffer, initialized in
                a.values.withUnsafeBufferPointer { a0 in
                    b.values.withUnsafeBufferPointer { b0 in
                        function(code, r.count, n, k, a0.baseAddress.map { $0 + r.lowerBound * a.columns }, a.columns,
                                 b0.baseAddress, b.columns, buffer.baseAddress, n)
                    }
                }
                initialized = r.count * n
            }
        }
        var out: [Double] = []
        out.reserveCapacity(m * n)
        for block in blocks { out.append(contentsOf: block) }
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
        let (low, high) = (range.lowerBound, range.upperBound)
        values.withUnsafeMutableBufferPointer { v in
            for i in v.indices { v[i] = min(max(v[i], low), high) }
        }
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

/// A buffer handed to the parts of a `Parallel.map`, each of which reads it or
/// writes only its own disjoint rows.
private struct SendableBuffer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>?

    init(_ buffer: UnsafeMutableBufferPointer<T>) { base = buffer.baseAddress }
    init(_ buffer: UnsafeBufferPointer<T>) { base = buffer.baseAddress.map { UnsafeMutablePointer(mutating: $0) } }
}
