/// Which network to train, with its architecture settings (written into results).
public struct NetworkSpec: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case convnet, mlp }
    public enum Parameterisation: String, Sendable, Codable { case standard, ntk }

    public var kind: Kind
    /// ConvNet: channels per convolution (128); MLP: hidden units.
    public var width: Int
    /// ConvNet: convolution blocks (3); MLP: hidden ReLU layers, before the
    /// classifier (DC's MLP: 2), as the depth of the NTK kernel model counts them.
    /// (`MLP`'s own `depth` counts the dense layers: this plus one.)
    public var depth: Int
    /// MLP only (ConvNet is always PyTorch's standard parameterisation).
    public var parameterisation: Parameterisation
    /// NTK parameterisation's `σ_w` and `σ_b` (see `MLP`).
    public var weightStd: Double
    public var biasStd: Double
    /// Train and predict with `f(θ, x) - f(θ₀, x)`: the initial network's output subtracted.
    public var centred: Bool

    enum CodingKeys: String, CodingKey {
        case kind = "name", width, depth, parameterisation, weightStd = "weight_std", biasStd = "bias_std", centred
    }

    /// ConvNet-3 (DC/DSA/DM/MTT): width 128, depth 3.
    public static func convNet(width: Int = 128, depth: Int = 3) -> NetworkSpec {
        NetworkSpec(kind: .convnet, width: width, depth: depth, parameterisation: .standard,
                    weightStd: 1, biasStd: 1, centred: false)
    }

    /// DC's MLP by default: two hidden layers of 128 ReLU units, PyTorch's initialisation.
    public static func mlp(width: Int = 128, depth: Int = 2) -> NetworkSpec {
        NetworkSpec(kind: .mlp, width: width, depth: depth, parameterisation: .standard,
                    weightStd: 1, biasStd: 1, centred: false)
    }

    /// The finite counterpart of the NTK kernel model: NTK parameterisation
    /// (`σ_w = √2`, `σ_b = 0.1` unless given), centred by default.
    public static func ntkMLP(width: Int = 1024, depth: Int = 2, weightStd: Double = 2.0.squareRoot(),
                              biasStd: Double = 0.1, centred: Bool = true) -> NetworkSpec {
        NetworkSpec(kind: .mlp, width: width, depth: depth, parameterisation: .ntk,
                    weightStd: weightStd, biasStd: biasStd, centred: centred)
    }
}
