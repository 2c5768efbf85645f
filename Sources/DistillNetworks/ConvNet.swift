import DistillNumerics
#if canImport(Glibc)
import Glibc
#endif

/// ConvNet-3, the evaluation network of DC, DSA, DM and MTT (Zhao et al. 2021,
/// `networks.py` of VICO-UoE/DatasetCondensation): `depth` blocks of [3x3
/// convolution with `width` channels; instance normalisation with affine
/// parameters; ReLU; 2x2 average pooling], then one linear classifier.
///
/// As in the reference code, the first convolution pads one-channel images by 3
/// pixels (every other convolution by 1), so MNIST's 28x28 becomes 32x32 and the
/// blocks give 32 -> 16 -> 8 -> 4: 128 x 4 x 4 = 2048 features. Initialisation is
/// PyTorch's default (uniform ±1/sqrt(fan-in) weights and biases; γ = 1, β = 0).
///
/// Parameters, in order, per block: convolution weights (`width x inChannels·9`),
/// bias, γ, β; then the classifier's weights (`classes x features`) and bias.
public struct ConvNet<Scalar: NetworkScalar>: TrainableNetwork {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let classes: Int
    public let convolutions: [Convolution]
    let tails: [ConvolutionBlockTail]
    let classifier: Dense

    /// - Parameters: image `channels`, `height`, `width`; `classes`; `networkWidth`
    ///   channels per convolution; `depth` blocks. Every block must leave at least
    ///   one pixel (`height`, `width` >= 2^depth after padding).
    public init(channels: Int, height: Int, width: Int, classes: Int, networkWidth: Int = 128, depth: Int = 3) {
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        var convs = [Convolution](), tails = [ConvolutionBlockTail]()
        var (c, h, w) = (channels, height, width)
        for d in 0..<depth {
            let conv = Convolution(inChannels: c, outChannels: networkWidth, height: h, width: w,
                                   padding: channels == 1 && d == 0 ? 3 : 1)
            convs.append(conv)
            tails.append(ConvolutionBlockTail(channels: networkWidth, height: conv.outHeight, width: conv.outWidth))
            (c, h, w) = (networkWidth, conv.outHeight / 2, conv.outWidth / 2)
        }
        self.convolutions = convs
        self.tails = tails
        self.classifier = Dense(inputs: c * h * w, outputs: classes)
    }

    public var inputFeatures: Int { channels * height * width }
    /// Inputs of the classifier (2048 for MNIST at the default width and depth).
    public var features: Int { classifier.inputs }

    /// Offset of block `d`'s parameters (weights, bias, γ, β).
    private func blockOffset(_ d: Int) -> Int {
        convolutions[..<d].reduce(0) { $0 + $1.weightCount + 3 * $1.outChannels }
    }
    private var classifierOffset: Int { blockOffset(convolutions.count) }
    public var parameterCount: Int { classifierOffset + classifier.parameterCount }

    public func initialParameters(_ random: inout SplitMix64) -> [Scalar] {
        var p = [Scalar]()
        p.reserveCapacity(parameterCount)
        for conv in convolutions {
            p += uniformFanIn(conv.weightCount + conv.outChannels, fanIn: conv.depth, &random)
            p += [Scalar](repeating: 1, count: conv.outChannels)
            p += [Scalar](repeating: 0, count: conv.outChannels)
        }
        p += uniformFanIn(classifier.parameterCount, fanIn: classifier.inputs, &random)
        return p
    }

    /// Buffers of one batch: per block its input, convolution output (reused for its
    /// gradient), normalised planes and their scales; the im2col columns; features.
    public final class Workspace {
        let capacity: Int
        let blockInputs: [UnsafeMutablePointer<Scalar>]   // depth + 1: the last is the features' CNHW source
        let convOutputs: [UnsafeMutablePointer<Scalar>]
        let normalized: [UnsafeMutablePointer<Scalar>]
        let scales: [UnsafeMutablePointer<Scalar>]
        let inputGradient: [UnsafeMutablePointer<Scalar>] // gradient of each block's output
        let columns: UnsafeMutablePointer<Scalar>
        let features: UnsafeMutablePointer<Scalar>
        let featureGradient: UnsafeMutablePointer<Scalar>
        let logits: UnsafeMutablePointer<Scalar>
        let logitGradient: UnsafeMutablePointer<Scalar>
        private var owned: [UnsafeMutablePointer<Scalar>] = []

        init(network: ConvNet, capacity n: Int) {
            self.capacity = n
            var owned = [UnsafeMutablePointer<Scalar>]()
            func buffer(_ count: Int) -> UnsafeMutablePointer<Scalar> {
                let b = UnsafeMutablePointer<Scalar>.allocate(capacity: max(1, count)); owned.append(b); return b
            }
            var inputs = [buffer(n * network.inputFeatures)]
            var outs = [UnsafeMutablePointer<Scalar>](), norms = outs, scales = outs, grads = outs
            var columns = 0
            for (conv, tail) in zip(network.convolutions, network.tails) {
                outs.append(buffer(tail.channels * n * tail.plane))
                norms.append(buffer(tail.channels * n * tail.plane))
                scales.append(buffer(tail.channels * n))
                inputs.append(buffer(tail.channels * n * tail.pooledPlane))
                grads.append(buffer(tail.channels * n * tail.pooledPlane))
                columns = max(columns, conv.depth * n * tail.plane)
            }
            blockInputs = inputs; convOutputs = outs; normalized = norms; self.scales = scales; inputGradient = grads
            self.columns = buffer(columns)
            features = buffer(n * network.features)
            featureGradient = buffer(n * network.features)
            logits = buffer(n * network.classes)
            logitGradient = buffer(n * network.classes)
            self.owned = owned
        }

        deinit { for b in owned { b.deallocate() } }
    }

    public func makeWorkspace(capacity: Int) -> Workspace { Workspace(network: self, capacity: capacity) }

    /// Threads for the element-wise passes (the products use oneDNN's own threads).
    var threads: Int { ProcessInfoThreads.count }

    /// The forward pass: leaves every block's buffers and the features in `ws`.
    private func forward(_ p: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count n: Int, ws: Workspace) {
        precondition(n <= ws.capacity, "ConvNet: \(n) images for a workspace of \(ws.capacity)")
        // NCHW rows -> CNHW.
        let plane = height * width, x0 = ws.blockInputs[0]
        for i in 0..<n {
            for c in 0..<channels {
                (x0 + (c * n + i) * plane).update(from: inputs + (i * channels + c) * plane, count: plane)
            }
        }
        for d in convolutions.indices {
            let conv = convolutions[d], tail = tails[d], o = blockOffset(d)
            let weights = p + o, bias = weights + conv.weightCount, gamma = bias + conv.outChannels, beta = gamma + conv.outChannels
            conv.forward(weights: weights, bias: bias, input: ws.blockInputs[d], count: n, output: ws.convOutputs[d],
                         col: ws.columns, threads: threads)
            tail.forward(ws.convOutputs[d], count: n, gamma: gamma, beta: beta, normalized: ws.normalized[d],
                         scales: ws.scales[d], output: ws.blockInputs[d + 1], threads: threads)
        }
        // CNHW -> one row of (c, y, x) features per image.
        let last = tails[tails.count - 1], q = last.pooledPlane, src = ws.blockInputs[convolutions.count]
        for i in 0..<n {
            for c in 0..<last.channels {
                (ws.features + i * features + c * q).update(from: src + (c * n + i) * q, count: q)
            }
        }
    }

    public func logits(_ parameters: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count: Int,
                       into logits: UnsafeMutablePointer<Scalar>, workspace ws: Workspace) {
        forward(parameters, inputs: inputs, count: count, ws: ws)
        classifier.forward(parameters + classifierOffset, input: ws.features, count: count, output: logits)
    }

    public func accumulateGradient(_ p: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count n: Int,
                                   gradient: UnsafeMutablePointer<Scalar>, workspace ws: Workspace,
                                   outputGradient: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>) -> Void) {
        forward(p, inputs: inputs, count: n, ws: ws)
        classifier.forward(p + classifierOffset, input: ws.features, count: n, output: ws.logits)
        outputGradient(ws.logits, ws.logitGradient)
        classifier.backward(p + classifierOffset, input: ws.features, count: n, outputGradient: ws.logitGradient,
                            gradient: gradient + classifierOffset, inputGradient: ws.featureGradient)
        // Features' gradient -> CNHW gradient of the last block's output.
        let depth = convolutions.count, last = tails[depth - 1], q = last.pooledPlane
        for i in 0..<n {
            for c in 0..<last.channels {
                (ws.inputGradient[depth - 1] + (c * n + i) * q).update(from: ws.featureGradient + i * features + c * q, count: q)
            }
        }
        for d in stride(from: depth - 1, through: 0, by: -1) {
            let conv = convolutions[d], tail = tails[d], o = blockOffset(d)
            let weights = p + o, gamma = weights + conv.weightCount + conv.outChannels, beta = gamma + conv.outChannels
            let g = gradient + o, dBias = g + conv.weightCount, dGamma = dBias + conv.outChannels, dBeta = dGamma + conv.outChannels
            let dy = ws.convOutputs[d]   // the convolution's output is no longer needed: its gradient goes there
            tail.backward(ws.inputGradient[d], count: n, gamma: gamma, beta: beta, normalized: ws.normalized[d],
                          scales: ws.scales[d], dy: dy, dGamma: dGamma, dBeta: dBeta, threads: threads)
            conv.backward(weights: weights, input: ws.blockInputs[d], count: n, outputGradient: dy,
                          weightGradient: g, biasGradient: dBias,
                          inputGradient: d > 0 ? ws.inputGradient[d - 1] : nil, col: ws.columns, threads: threads)
        }
    }
}

/// The number of worker threads for element-wise passes: the active processors.
enum ProcessInfoThreads {
    static let count: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()
}
