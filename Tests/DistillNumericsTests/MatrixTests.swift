import Foundation
import Testing
import _TestSupport
@testable import DistillNumerics

/// The Double products (AVX-512 tiles with masked and repeated-row edges, and
/// the portable loops) against plain triple loops, on sizes that are not
/// multiples of any tile or vector width.
@Suite struct MatrixProductTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var m: Int, k: Int, n: Int
        var testDescription: String { "\(m)x\(k) · \(k)x\(n)" }
    }

    static let shapes: [Shape] = [
        Shape(m: 1, k: 1, n: 1), Shape(m: 3, k: 5, n: 2), Shape(m: 7, k: 9, n: 11), Shape(m: 10, k: 784, n: 10),
        Shape(m: 13, k: 17, n: 3), Shape(m: 5, k: 1031, n: 7), Shape(m: 33, k: 3, n: 45), Shape(m: 101, k: 23, n: 19),
        Shape(m: 6, k: 0, n: 4), Shape(m: 17, k: 20, n: 785),
    ]
    static let kernels: [Matrix.ProductKernel] = [.automatic, .portable]

    /// `Σ_t a[i, t] b[t, j]` in a plain loop.
    static func plainProduct(_ a: Matrix, _ b: Matrix) -> Matrix {
        var c = Matrix(zeros: a.rows, b.columns)
        for i in 0..<a.rows {
            for j in 0..<b.columns {
                var s = 0.0
                for t in 0..<a.columns { s += a[i, t] * b[t, j] }
                c[i, j] = s
            }
        }
        return c
    }

    static func plainTranspose(_ a: Matrix) -> Matrix {
        var t = Matrix(zeros: a.columns, a.rows)
        for i in 0..<a.rows { for j in 0..<a.columns { t[j, i] = a[i, j] } }
        return t
    }

    static func expectClose(_ a: Matrix, _ b: Matrix, _ what: String) {
        #expect(a.rows == b.rows && a.columns == b.columns, "\(what): shape")
        let scale = max(1, b.values.map(abs).max() ?? 0)
        let error = zip(a.values, b.values).map { abs($0 - $1) }.max() ?? 0
        #expect(error <= 1e-12 * scale, "\(what): max error \(error)")
    }

    @Test(arguments: shapes, kernels)
    func productsAgreeWithPlainLoops(shape: Shape, kernel: Matrix.ProductKernel) {
        let seed = UInt64(shape.m * 10_000 + shape.k * 100 + shape.n)
        let a = TestSupport.randomMatrix(shape.m, shape.k, seed: seed)
        let b = TestSupport.randomMatrix(shape.k, shape.n, seed: seed + 1)
        let reference = Self.plainProduct(a, b)
        Self.expectClose(a.multiplied(by: b, kernel: kernel), reference, "a · b")
        Self.expectClose(Self.plainTranspose(a).transposedMultiplied(by: b, kernel: kernel), reference, "(aᵀ)ᵀ · b")
        Self.expectClose(a.multipliedTransposed(by: Self.plainTranspose(b), kernel: kernel), reference, "a · (bᵀ)ᵀ")
    }

    @Test(arguments: shapes)
    func transposeAgreesWithAPlainLoop(shape: Shape) {
        let a = TestSupport.randomMatrix(shape.m, shape.n, seed: 5)
        #expect(a.transposed() == Self.plainTranspose(a))
        #expect(a.transposed().transposed() == a)
    }

    @Test func elementwiseOperationsRoundAsTheirDefinitions() {
        let a = TestSupport.randomMatrix(7, 13, seed: 8), b = TestSupport.randomMatrix(7, 13, seed: 9)
        let alpha = 0.37, beta = -1.9
        #expect(a.scaled(by: alpha, adding: b, scaledBy: beta) == a.scaled(by: alpha).adding(b, scaledBy: beta))
        #expect(a.adding(b, scaledBy: beta).values == zip(a.values, b.values).map { $0 + beta * $1 })
        var plainDot = 0.0
        for i in a.values.indices { plainDot += a.values[i] * b.values[i] }
        #expect(abs(a.dot(b) - plainDot) <= 1e-13 * a.norm * b.norm)
    }

    /// The threaded products and `S Sᵀ` by its lower triangle give exactly the
    /// bits of the single-threaded full products, for any thread count, on
    /// sizes around the bands and the narrow-column switch.
    @Test(arguments: [1, 2, 3, 7])
    func threadedProductsAndTheSelfGramAreTheSameBits(threads: Int) {
        for (m, p) in [(1, 20), (2, 3), (31, 16), (33, 15), (65, 40), (100, 100), (131, 7), (23, 300), (9, 0)] {
            let a = TestSupport.randomMatrix(m, p, seed: UInt64(m * 1000 + p))
            #expect(a.multipliedBySelfTransposed(threads: threads) == a.multipliedTransposed(by: a), "\(m) x \(p)")
            for n in [1, 10, 17, 40] {
                let b = TestSupport.randomMatrix(p, n, seed: UInt64(m * 1000 + p + n))
                #expect(a.multiplied(by: b, threads: threads) == a.multiplied(by: b), "\(m) x \(p) · \(p) x \(n)")
            }
        }
    }

    /// `alpha · (a · bᵀ) + beta · (c · dᵀ)` in one sweep is exactly the three
    /// operations it stands for, for any thread count, with each product on
    /// either side of the narrow-column switch (depths 10 and 17 against 3 and 20)
    /// and results whose rows do not split evenly.
    @Test(arguments: [1, 2, 3, 7])
    func theSumOfTwoProductsIsTheSameBitsAsItsParts(threads: Int) {
        for (m, n, k, l) in [(1, 5, 10, 3), (6, 36, 10, 10), (100, 784, 10, 10), (13, 40, 17, 20), (9, 1, 3, 17), (0, 4, 2, 2)] {
            let a = TestSupport.randomMatrix(m, k, seed: UInt64(m + 1)), b = TestSupport.randomMatrix(n, k, seed: UInt64(n + 2))
            let c = TestSupport.randomMatrix(m, l, seed: UInt64(m + 3)), d = TestSupport.randomMatrix(n, l, seed: UInt64(n + 4))
            let (alpha, beta) = (1 / 7.0, -0.3)
            let expected = a.multipliedTransposed(by: b).scaled(by: alpha, adding: c.multipliedTransposed(by: d), scaledBy: beta)
            let fused = a.multipliedTransposed(by: b, scaledBy: alpha, adding: c, multipliedTransposed: d, scaledBy: beta,
                                               threads: threads)
            #expect(fused == expected, "\(m) x \(n), depths \(k) and \(l)")
        }
    }
}

/// `Parallel.triangularChunks` covers the rows once, in order, with near-equal areas.
@Suite struct TriangularChunkTests {
    @Test(arguments: [(0, 2), (1, 2), (2, 5), (10, 3), (500, 2), (501, 7)])
    func chunksCoverTheRowsWithBalancedAreas(count: Int, parts: Int) {
        let chunks = Parallel.triangularChunks(of: count, parts: parts)
        #expect(chunks.flatMap { Array($0) } == Array(0..<count))
        #expect(chunks.count <= parts && chunks.allSatisfy { !$0.isEmpty })
        if count >= 100 {
            let areas = chunks.map { r in r.reduce(0) { $0 + $1 + 1 } }
            let total = count * (count + 1) / 2
            #expect(areas.allSatisfy { abs(Double($0) - Double(total) / Double(chunks.count)) <= Double(count) })
        }
    }
}

/// Adam's AVX-512 update gives the same bits as the scalar formulas.
@Suite struct AdamTests {
    @Test(arguments: [1, 7, 8, 29])
    func updateMatchesTheFormulas(count: Int) {
        var random = SplitMix64(seed: UInt64(count))
        var x = (0..<count).map { _ in random.nextNormal() }
        var expected = x
        var adam = Adam(count: count, learningRate: 0.03)
        var m = [Double](repeating: 0, count: count), v = m
        for step in 1...3 {
            let g = (0..<count).map { _ in random.nextNormal() }
            adam.update(&x, gradient: g)
            let c1 = 1 - pow(0.9, Double(step)), c2 = 1 - pow(0.999, Double(step))
            for i in 0..<count {
                m[i] = 0.9 * m[i] + (1 - 0.9) * g[i]
                v[i] = 0.999 * v[i] + (1 - 0.999) * g[i] * g[i]
                expected[i] -= 0.03 * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
            }
        }
        #expect(x == expected)
        #expect(adam.firstMoment == m && adam.secondMoment == v && adam.stepCount == 3)
    }

    /// An update split over threads (enough values to split, a count that is not a
    /// multiple of the vector width) gives the single-threaded update's bits.
    @Test(arguments: [2, 3])
    func aThreadedUpdateIsTheSameBits(threads: Int) {
        let count = Adam.threadedMinimum + 13
        var random = SplitMix64(seed: 11)
        var single = (0..<count).map { _ in random.nextNormal() }
        var split = single
        var one = Adam(count: count, learningRate: 0.02), many = one
        for _ in 0..<3 {
            let g = (0..<count).map { _ in random.nextNormal() * 1e-3 }
            one.update(&single, gradient: g)
            many.update(&split, gradient: g, threads: threads)
        }
        #expect(split == single)
        #expect(many == one)
    }
}
