#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast, well-mixed generator
/// whose whole state is one `UInt64`, so a run can be saved and resumed exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal sample (Box-Muller; one of the pair is discarded so that
    /// the state alone determines the stream).
    public mutating func nextNormal() -> Double {
        let u1 = 1.0 - nextUniform()          // in (0, 1]: log is finite
        let u2 = nextUniform()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }
}
