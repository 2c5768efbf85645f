/// `max(x, 0)` in place; its derivative at 0 is taken as 0 (as PyTorch does). The
/// MLP's activation (ConvNet-3 fuses its ReLU into `ConvolutionBlockTail`).
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
