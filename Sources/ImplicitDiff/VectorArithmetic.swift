// The few vector operations the solvers need, kept here so that the module
// stands alone. The loops run over unsafe buffers (the sizes are checked
// once), and the dot product keeps eight partial sums so that it vectorises.

@inline(__always)
func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "dot: size mismatch")
    return a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
            let n = a.count, whole = n - n % 8
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
    }
}

@inline(__always)
func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

/// `y += alpha * x`
@inline(__always)
func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    precondition(x.count == y.count, "axpy: size mismatch")
    x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { y in
            for i in y.indices { y[i] += alpha * x[i] }
        }
    }
}

/// `y = x + beta * y`
@inline(__always)
func xpby(_ x: [Double], _ beta: Double, _ y: inout [Double]) {
    precondition(x.count == y.count, "xpby: size mismatch")
    x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { y in
            for i in y.indices { y[i] = x[i] + beta * y[i] }
        }
    }
}

/// `a - b`
@inline(__always)
func difference(_ a: [Double], _ b: [Double]) -> [Double] {
    precondition(a.count == b.count, "difference: size mismatch")
    return [Double](unsafeUninitializedCapacity: a.count) { out, initialized in
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for i in a.indices { out[i] = a[i] - b[i] }
            }
        }
        initialized = a.count
    }
}
