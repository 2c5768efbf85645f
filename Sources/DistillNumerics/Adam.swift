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

    /// Moves `x` one step against `gradient`. With `threads` above 1 and at least
    /// `threadedMinimum` values, contiguous chunks of the values are updated on
    /// that many threads: the update is element-wise, so the bits are the same.
    public mutating func update(_ x: inout [Double], gradient: [Double], threads: Int = 1) {
        precondition(x.count == gradient.count && x.count == firstMoment.count, "Adam: size mismatch")
        stepCount += 1
        let t = Double(stepCount)
        let c1 = 1 - pow(beta1, t), c2 = 1 - pow(beta2, t)
        let scalars = distill_adam_step(beta1: beta1, beta2: beta2, learning_rate: learningRate, epsilon: epsilon,
                                        bias1: c1, bias2: c2)
        let chunks = Parallel.chunks(of: x.count, parts: x.count >= Self.threadedMinimum ? threads : 1)
        gradient.withUnsafeBufferPointer { gradient in
            firstMoment.withUnsafeMutableBufferPointer { firstMoment in
                secondMoment.withUnsafeMutableBufferPointer { secondMoment in
                    x.withUnsafeMutableBufferPointer { x in
                        let buffers = AdamBuffers(x: x, gradient: gradient, first: firstMoment, second: secondMoment)
                        _ = Parallel.map(parts: chunks.count) { part -> Bool in
                            buffers.update(chunks[part], scalars)
                            return true
                        }
                    }
                }
            }
        }
    }

    /// The fewest values an update splits over threads (below it, one thread is faster).
    public static let threadedMinimum = 16_384
}

/// The four arrays of one update, handed to the parts of a `Parallel.map`, each of
/// which writes only its own chunk.
private struct AdamBuffers: @unchecked Sendable {
    let x: UnsafeMutableBufferPointer<Double>
    let gradient: UnsafeBufferPointer<Double>
    let first: UnsafeMutableBufferPointer<Double>
    let second: UnsafeMutableBufferPointer<Double>

    /// `distill_adam_update` on the values `range`.
    func update(_ range: Range<Int>, _ scalars: distill_adam_step) {
        guard !range.isEmpty, let x = x.baseAddress, let g = gradient.baseAddress,
              let m = first.baseAddress, let v = second.baseAddress else { return }
        var scalars = scalars
        let i = range.lowerBound
        distill_adam_update(DISTILL_KERNEL_AVX512, range.count, x + i, g + i, m + i, v + i, &scalars)
    }
}
