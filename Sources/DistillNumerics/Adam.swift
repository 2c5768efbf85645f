import CDistillKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (Kingma and Ba, 2015) on a flat parameter vector.
///
///     m ← β₁ m + (1-β₁) g,   v ← β₂ v + (1-β₂) g²
///     x ← x - η (m / (1-β₁ᵗ)) / (√(v / (1-β₂ᵗ)) + ε)
///
/// The moments and the step count are public state, so a checkpoint can hold them.
public struct Adam: Sendable, Equatable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var firstMoment: [Double]
    public var secondMoment: [Double]
    public var stepCount: Int

    public init(count: Int, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoment = [Double](repeating: 0, count: count)
        secondMoment = [Double](repeating: 0, count: count)
        stepCount = 0
    }

    /// Moves `x` one step against `gradient`.
    public mutating func update(_ x: inout [Double], gradient: [Double]) {
        precondition(x.count == gradient.count && x.count == firstMoment.count, "Adam: size mismatch")
        stepCount += 1
        let t = Double(stepCount)
        let c1 = 1 - pow(beta1, t), c2 = 1 - pow(beta2, t)
        var scalars = distill_adam_step(beta1: beta1, beta2: beta2, learning_rate: learningRate, epsilon: epsilon,
                                        bias1: c1, bias2: c2)
        gradient.withUnsafeBufferPointer { gradient in
            firstMoment.withUnsafeMutableBufferPointer { firstMoment in
                secondMoment.withUnsafeMutableBufferPointer { secondMoment in
                    x.withUnsafeMutableBufferPointer { x in
                        distill_adam_update(DISTILL_KERNEL_AVX512, x.count, x.baseAddress, gradient.baseAddress,
                                            firstMoment.baseAddress, secondMoment.baseAddress, &scalars)
                    }
                }
            }
        }
    }
}
