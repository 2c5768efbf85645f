import DistillNumerics

/// A fully connected ReLU network: `depth` dense layers (`depth - 1` hidden layers
/// of `width` units, then the classifier), on the image's pixels as one vector.
/// DC's MLP is `width` 128, `depth` 3.
///
/// - `.standard`: PyTorch's `nn.Linear` (uniform ±1/sqrt(fan-in) weights and biases).
/// - `.ntk(weightStd:biasStd:)`: the NTK parameterisation (Jacot et al. 2018; as in
///   neural-tangents' `Dense(parameterization='ntk')`): N(0, 1) parameters, layer
///   output `σ_w/sqrt(fan-in) · W x + σ_b · b`. Its infinite-width limit is the NTK.
///   Centring (subtracting the initial network's output, so that training starts
///   from zero logits as the kernel model does) is a training setting:
///   `NetworkSpec.centred`.
///
/// Parameters, in order, per layer: weights (`outputs x inputs`), bias.
public struct MLP<Scalar: NetworkScalar>: TrainableNetwork {
    public enum Parameterisation: Sendable, Equatable {
        case standard
        case ntk(weightStd: Double, biasStd: Double)
    }

    public let inputFeatures: Int
    public let classes: Int
    public let parameterisation: Parameterisation
    let layers: [Dense]

    /// - Parameters: `depth` >= 1 dense layers; `width` hidden units.
    public init(inputFeatures: Int, classes: Int, width: Int = 128, depth: Int = 3,
                parameterisation: Parameterisation = .standard) {
        self.inputFeatures = inputFeatures
        self.classes = classes
        self.parameterisation = parameterisation
        var layers = [Dense]()
        var inputs = inputFeatures
        for d in 0..<max(1, depth) {
            let outputs = d == max(1, depth) - 1 ? classes : width
            var layer = Dense(inputs: inputs, outputs: outputs)
            if case .ntk(let sw, let sb) = parameterisation {
                layer.weightScale = sw / Double(inputs).squareRoot()
                layer.biasScale = sb
            }
            layers.append(layer)
            inputs = outputs
        }
        self.layers = layers
    }

    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }

    public func initialParameters(_ random: inout SplitMix64) -> [Scalar] {
        var p = [Scalar]()
        p.reserveCapacity(parameterCount)
        for layer in layers {
            switch parameterisation {
            case .standard: p += uniformFanIn(layer.parameterCount, fanIn: layer.inputs, &random)
            case .ntk: p += (0..<layer.parameterCount).map { _ in Scalar(random.nextNormal()) }
            }
        }
        return p
    }

    /// Every layer's input (the last is the logits) and a gradient buffer pair.
    public final class Workspace {
        let capacity: Int
        let activations: [UnsafeMutablePointer<Scalar>]
        let gradients: [UnsafeMutablePointer<Scalar>]

        init(network: MLP, capacity n: Int) {
            capacity = n
            var sizes = [network.inputFeatures]
            for layer in network.layers { sizes.append(layer.outputs) }
            activations = sizes.map { UnsafeMutablePointer<Scalar>.allocate(capacity: max(1, n * $0)) }
            gradients = sizes.map { UnsafeMutablePointer<Scalar>.allocate(capacity: max(1, n * $0)) }
        }

        deinit { for b in activations + gradients { b.deallocate() } }
    }

    public func makeWorkspace(capacity: Int) -> Workspace { Workspace(network: self, capacity: capacity) }

    /// Leaves every layer's output in the workspace; ReLU is applied in place to the
    /// hidden layers' outputs (their sign is all the backward pass needs).
    private func forward(_ p: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count n: Int, ws: Workspace) {
        precondition(n <= ws.capacity, "MLP: \(n) images for a workspace of \(ws.capacity)")
        ws.activations[0].update(from: inputs, count: n * inputFeatures)
        var offset = 0
        for (d, layer) in layers.enumerated() {
            layer.forward(p + offset, input: ws.activations[d], count: n, output: ws.activations[d + 1])
            if d < layers.count - 1 { ReLU.forward(ws.activations[d + 1], count: n * layer.outputs) }
            offset += layer.parameterCount
        }
    }

    public func logits(_ parameters: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count: Int,
                       into logits: UnsafeMutablePointer<Scalar>, workspace ws: Workspace) {
        forward(parameters, inputs: inputs, count: count, ws: ws)
        logits.update(from: ws.activations[layers.count], count: count * classes)
    }

    public func accumulateGradient(_ p: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count n: Int,
                                   gradient: UnsafeMutablePointer<Scalar>, workspace ws: Workspace,
                                   outputGradient: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>) -> Void) {
        forward(p, inputs: inputs, count: n, ws: ws)
        let top = layers.count
        outputGradient(ws.activations[top], ws.gradients[top])
        var offset = parameterCount
        for d in stride(from: top - 1, through: 0, by: -1) {
            let layer = layers[d]
            offset -= layer.parameterCount
            layer.backward(p + offset, input: ws.activations[d], count: n, outputGradient: ws.gradients[d + 1],
                           gradient: gradient + offset, inputGradient: d > 0 ? ws.gradients[d] : nil)
            if d > 0 { ReLU.backward(ws.gradients[d], input: ws.activations[d], count: n * layer.inputs) }
        }
    }
}
