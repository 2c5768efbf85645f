/// A fully connected layer on `count x inputs` rows: `out = a · x Wᵀ + b_s · b`, with
/// `W` `outputs x inputs` (PyTorch's layout) and `b` `outputs` values.
///
/// `a = b_s = 1` is the standard parameterisation; the NTK parameterisation (Jacot
/// et al. 2018) uses `a = σ_w / sqrt(inputs)` and `b_s = σ_b` on N(0, 1) parameters.
struct Dense: Sendable, Equatable {
    let inputs: Int
    let outputs: Int
    var weightScale: Double = 1
    var biasScale: Double = 1

    var weightCount: Int { inputs * outputs }
    var parameterCount: Int { weightCount + outputs }

    /// `out` (`count x outputs`) from `x` (`count x inputs`); parameters: weights then bias.
    func forward<S: NetworkScalar>(_ parameters: UnsafePointer<S>, input x: UnsafePointer<S>, count: Int,
                                   output: UnsafeMutablePointer<S>) {
        let bias = parameters + weightCount, bs = S(biasScale)
        for i in 0..<count {
            for o in 0..<outputs { output[i * outputs + o] = bs * bias[o] }
        }
        S.gemm(transposeA: false, transposeB: true, m: count, n: outputs, k: inputs, alpha: S(weightScale),
               a: x, lda: inputs, b: parameters, ldb: inputs, beta: 1, c: output, ldc: outputs)
    }

    /// Adds the parameters' gradient to `gradient` (weights then bias) and, when
    /// `inputGradient` is given, overwrites it with ∂/∂x (`count x inputs`).
    func backward<S: NetworkScalar>(_ parameters: UnsafePointer<S>, input x: UnsafePointer<S>, count: Int,
                                    outputGradient dy: UnsafePointer<S>, gradient: UnsafeMutablePointer<S>,
                                    inputGradient: UnsafeMutablePointer<S>?) {
        let ws = S(weightScale), bs = S(biasScale)
        S.gemm(transposeA: true, transposeB: false, m: outputs, n: inputs, k: count, alpha: ws,
               a: dy, lda: outputs, b: x, ldb: inputs, beta: 1, c: gradient, ldc: inputs)
        let biasGradient = gradient + weightCount
        for o in 0..<outputs {
            var s: S = 0
            for i in 0..<count { s += dy[i * outputs + o] }
            biasGradient[o] += bs * s
        }
        guard let dx = inputGradient else { return }
        S.gemm(transposeA: false, transposeB: false, m: count, n: inputs, k: outputs, alpha: ws,
               a: dy, lda: outputs, b: parameters, ldb: inputs, beta: 0, c: dx, ldc: inputs)
    }
}
