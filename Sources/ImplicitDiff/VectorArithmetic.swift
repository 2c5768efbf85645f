// The few vector operations the solvers need, kept here so that the module
// stands alone.

@inline(__always)
func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
}

@inline(__always)
func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

/// `y += alpha * x`
@inline(__always)
func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    for i in y.indices { y[i] += alpha * x[i] }
}

/// `a - b`
@inline(__always)
func subtracting(_ a: [Double], _ b: [Double]) -> [Double] {
    precondition(a.count == b.count, "vector sizes differ")
    return zip(a, b).map { $0 - $1 }
}
