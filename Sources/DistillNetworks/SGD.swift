/// Stochastic gradient descent with momentum and weight decay, as PyTorch's
/// `torch.optim.SGD` (dampening 0, not Nesterov): `g ← ∇ + λ w`, `v ← μ v + g`,
/// `w ← w - η v` (the first step sets `v = g`, which is the same as `v = 0` before).
struct SGD {
    let momentum: Double
    let weightDecay: Double
    private(set) var velocity: [Float]

    init(count: Int, momentum: Double, weightDecay: Double) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        velocity = [Float](repeating: 0, count: count)
    }

    /// Forgets the velocity (DC builds a new optimiser when it lowers the rate).
    mutating func reset() { velocity = [Float](repeating: 0, count: velocity.count) }

    mutating func step(_ parameters: inout [Float], gradient: [Float], learningRate: Double) {
        let mu = Float(momentum), lambda = Float(weightDecay), eta = Float(learningRate)
        velocity.withUnsafeMutableBufferPointer { v in
            parameters.withUnsafeMutableBufferPointer { w in
                gradient.withUnsafeBufferPointer { g in
                    for i in 0..<w.count {
                        v[i] = mu * v[i] + (g[i] + lambda * w[i])
                        w[i] -= eta * v[i]
                    }
                }
            }
        }
    }
}
