import CDNNL
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
    /// Lanes a batch is split into, each on its own worker thread (oneDNN single-threaded in each).
    public let threads: Int
    let tails: [ConvolutionBlockTail]
    let classifier: Dense
    /// Float with a width in whole blocks of 16 channels, on a machine where oneDNN
    /// has Winograd for them (AVX-512): the blocks' data are in oneDNN's `nChw16c`
    /// (what its Winograd kernels take; see `ConvolutionBlockTail`) and the first
    /// convolution reads the NCHW images as given. Otherwise NHWC.
    let blocked: Bool

    /// - Parameters: image `channels`, `height`, `width`; `classes`; `networkWidth`
    ///   channels per convolution; `depth` blocks. Every block must leave at least
    ///   one pixel (`height`, `width` >= 2^depth after padding). `threads`: see `threads`
    ///   (default: the active processors).
    public init(channels: Int, height: Int, width: Int, classes: Int, networkWidth: Int = 128, depth: Int = 3,
                threads: Int = ProcessInfoThreads.count) {
        self.channels = channels
        self.threads = max(1, threads)
        self.height = height
        self.width = width
        self.classes = classes
        blocked = Scalar.self == Float.self && networkWidth % 16 == 0 && ConvolutionPrimitives.winogradAvailable
        var convs = [Convolution](), tails = [ConvolutionBlockTail]()
        var (c, h, w) = (channels, height, width)
        for d in 0..<depth {
            let conv = Convolution(inChannels: c, outChannels: networkWidth, height: h, width: w,
                                   padding: channels == 1 && d == 0 ? 3 : 1)
            convs.append(conv)
            tails.append(ConvolutionBlockTail(channels: networkWidth, height: conv.outHeight, width: conv.outWidth, blocked: blocked))
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

    /// Buffers for a batch of up to `capacity` images, split into one lane per
    /// thread: the network runs data-parallel over images, each lane on its own
    /// worker with its own buffers, oneDNN primitives (single-threaded) and
    /// parameter gradient, which are added in lane order (deterministic for a given
    /// thread count). One fork and join per pass: no OpenMP team spinning between
    /// oneDNN's calls and the element-wise passes, which cost more than the
    /// convolutions on 2 busy cores (see the README).
    public final class Workspace: @unchecked Sendable {
        let capacity: Int
        let lanes: [Lane]
        /// All lanes' logits and their gradient (`capacity x classes`), for the loss.
        let logits: UnsafeMutablePointer<Scalar>
        let logitGradient: UnsafeMutablePointer<Scalar>

        init(network: ConvNet, capacity n: Int) {
            capacity = n
            let count = max(1, min(network.threads, n))
            let laneCapacity = (n + count - 1) / count
            lanes = (0..<count).map { _ in Lane(network: network, capacity: laneCapacity) }
            logits = .allocate(capacity: max(1, n * network.classes))
            logitGradient = .allocate(capacity: max(1, n * network.classes))
        }

        deinit { logits.deallocate(); logitGradient.deallocate() }

        /// The images each lane takes of a batch of `count`: contiguous, fixed by
        /// `count` and the number of lanes.
        func split(_ count: Int) -> [Range<Int>] {
            let parts = max(1, min(lanes.count, count))
            return (0..<parts).map { (count * $0 / parts)..<(count * ($0 + 1) / parts) }
        }
    }

    /// One lane's buffers (NHWC or `nChw16c` inside the network, see `blocked`): per block its input,
    /// convolution output (reused for its gradient), normalised values and scales,
    /// and the gradient of its output; the classifier's features; its share of the
    /// parameters' gradient; and, for `Float`, oneDNN's convolution primitives per
    /// image count.
    final class Lane {
        let capacity: Int
        let blockInputs: [UnsafeMutablePointer<Scalar>]   // depth + 1: the last is the last block's pooled output
        let convOutputs: [UnsafeMutablePointer<Scalar>]
        let normalized: [UnsafeMutablePointer<Scalar>]
        let scales: [UnsafeMutablePointer<Scalar>]
        let inputGradient: [UnsafeMutablePointer<Scalar>] // gradient of each block's output
        let features: UnsafeMutablePointer<Scalar>
        let featureGradient: UnsafeMutablePointer<Scalar>
        /// This lane's share of the parameters' gradient.
        let gradient: UnsafeMutablePointer<Scalar>
        /// One block's weight and bias gradient from oneDNN (overwritten per call).
        let convolutionGradient: UnsafeMutablePointer<Scalar>
        private var owned: [UnsafeMutablePointer<Scalar>] = []
        /// `Float` only: the lane's oneDNN stream (one thread) and, per image count, each block's primitives.
        let stream: OneDNNStream?
        private var primitives: [Int: [ConvolutionPrimitives]] = [:]
        private let convolutions: [Convolution]
        private let blocked: Bool

        init(network: ConvNet, capacity n: Int) {
            self.capacity = n
            var owned = [UnsafeMutablePointer<Scalar>]()
            // 64-byte aligned: a cache line and an AVX-512 vector.
            func buffer(_ count: Int) -> UnsafeMutablePointer<Scalar> {
                let b = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Scalar>.stride, alignment: 64)
                    .bindMemory(to: Scalar.self, capacity: max(1, count))
                owned.append(b)
                return b
            }
            var inputs = [buffer(n * network.inputFeatures)]
            var outs = [UnsafeMutablePointer<Scalar>](), norms = outs, scales = outs, grads = outs
            var largest = 0
            for (conv, tail) in zip(network.convolutions, network.tails) {
                outs.append(buffer(tail.channels * n * tail.plane))
                norms.append(buffer(tail.channels * n * tail.plane))
                scales.append(buffer(tail.channels * n))
                inputs.append(buffer(tail.channels * n * tail.pooledPlane))
                grads.append(buffer(tail.channels * n * tail.pooledPlane))
                largest = max(largest, conv.weightCount + conv.outChannels)
            }
            blockInputs = inputs; convOutputs = outs; normalized = norms; self.scales = scales; inputGradient = grads
            features = buffer(n * network.features)
            featureGradient = buffer(n * network.features)
            gradient = buffer(network.parameterCount)
            convolutionGradient = buffer(largest)
            self.owned = owned
            convolutions = network.convolutions
            blocked = network.blocked
            stream = Scalar.self == Float.self ? OneDNNStream(threads: 1) : nil
        }

        deinit { for b in owned { b.deallocate() } }

        /// Block `d`'s oneDNN primitives for `count` images (built on first use), or
        /// nil for `Double`, which runs the plain convolution.
        func primitives(_ d: Int, count: Int) -> ConvolutionPrimitives? {
            guard let stream else { return nil }
            if let made = primitives[count] { return made[d] }
            let data = blocked ? dnnl_nChw16c : dnnl_nhwc
            let made = convolutions.indices.map {
                ConvolutionPrimitives(convolutions[$0], count: count, inputGradient: $0 > 0, threads: stream.threads,
                                      source: $0 == 0 && blocked ? dnnl_nchw : data, destination: data)
            }
            primitives[count] = made
            return made[d]
        }
    }

    public func makeWorkspace(capacity: Int) -> Workspace { Workspace(network: self, capacity: capacity) }

    /// `p` as `Float` (only called when `Scalar` is `Float`).
    @inline(__always)
    private func asFloat(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
    @inline(__always)
    private func asFloat(_ p: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// Offset of `channel` at `pixel` in one image of the last block's output.
    @inline(__always)
    private func featureOffset(channel j: Int, pixel k: Int, plane q: Int, channels c: Int) -> Int {
        blocked ? ((j >> 4) * q + k) * 16 + (j & 15) : k * c + j
    }

    /// One lane's forward pass of `n` images: leaves every block's buffers and the
    /// features in `ws`, and writes the logits to `logits` (`n x classes`).
    private func forward(_ p: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count n: Int, lane ws: Lane,
                         logits: UnsafeMutablePointer<Scalar>) {
        precondition(n <= ws.capacity, "ConvNet: \(n) images for a lane of \(ws.capacity)")
        // NCHW rows -> NHWC (`blocked`: the first convolution reads NCHW).
        let plane = height * width, x0 = ws.blockInputs[0]
        if blocked { x0.update(from: inputs, count: n * channels * plane) }
        for i in 0..<n where !blocked {
            let image = inputs + i * channels * plane, out = x0 + i * channels * plane
            for c in 0..<channels {
                for k in 0..<plane { out[k * channels + c] = image[c * plane + k] }
            }
        }
        for d in convolutions.indices {
            let conv = convolutions[d], tail = tails[d], o = blockOffset(d)
            let weights = p + o, bias = weights + conv.weightCount, gamma = bias + conv.outChannels, beta = gamma + conv.outChannels
            if let primitives = ws.primitives(d, count: n), let stream = ws.stream {
                primitives.forward(weights: asFloat(weights), bias: asFloat(bias), input: asFloat(UnsafePointer(ws.blockInputs[d])),
                                   output: asFloat(ws.convOutputs[d]), stream: stream)
            } else {
                conv.forward(weights: weights, bias: bias, input: ws.blockInputs[d], count: n, output: ws.convOutputs[d])
            }
            tail.forward(ws.convOutputs[d], count: n, gamma: gamma, beta: beta, normalized: ws.normalized[d],
                         scales: ws.scales[d], output: ws.blockInputs[d + 1], threads: 1)
        }
        // NHWC or nChw16c -> one row of (c, y, x) features per image (PyTorch's flattening).
        let last = tails[tails.count - 1], q = last.pooledPlane, c = last.channels, src = ws.blockInputs[convolutions.count]
        for i in 0..<n {
            let image = src + i * q * c, row = ws.features + i * features
            for k in 0..<q {
                for j in 0..<c { row[j * q + k] = image[featureOffset(channel: j, pixel: k, plane: q, channels: c)] }
            }
        }
        classifier.forward(p + classifierOffset, input: ws.features, count: n, output: logits)
    }

    /// One lane's backward pass after its forward pass: from the logits' gradient
    /// `dz` (`n x classes`), overwrites the lane's parameter gradient.
    private func backward(_ p: UnsafePointer<Scalar>, count n: Int, lane ws: Lane, logitGradient dz: UnsafePointer<Scalar>) {
        let gradient = ws.gradient
        gradient.update(repeating: 0, count: parameterCount)
        classifier.backward(p + classifierOffset, input: ws.features, count: n, outputGradient: dz,
                            gradient: gradient + classifierOffset, inputGradient: ws.featureGradient)
        // Features' gradient -> gradient of the last block's output (NHWC or nChw16c).
        let depth = convolutions.count, last = tails[depth - 1], q = last.pooledPlane, c = last.channels
        for i in 0..<n {
            let row = ws.featureGradient + i * features, image = ws.inputGradient[depth - 1] + i * q * c
            for k in 0..<q {
                for j in 0..<c { image[featureOffset(channel: j, pixel: k, plane: q, channels: c)] = row[j * q + k] }
            }
        }
        for d in stride(from: depth - 1, through: 0, by: -1) {
            let conv = convolutions[d], tail = tails[d], o = blockOffset(d)
            let weights = p + o, gamma = weights + conv.weightCount + conv.outChannels, beta = gamma + conv.outChannels
            let g = gradient + o, dBias = g + conv.weightCount, dGamma = dBias + conv.outChannels, dBeta = dGamma + conv.outChannels
            let dy = ws.convOutputs[d]   // the convolution's output is no longer needed: its gradient goes there
            tail.backward(ws.inputGradient[d], count: n, gamma: gamma, beta: beta, normalized: ws.normalized[d],
                          scales: ws.scales[d], dy: dy, dGamma: dGamma, dBeta: dBeta, threads: 1)
            let dx = d > 0 ? ws.inputGradient[d - 1] : nil
            if let primitives = ws.primitives(d, count: n), let stream = ws.stream {
                // oneDNN overwrites: weights then bias, as in the parameters (still zero here).
                primitives.backward(weights: asFloat(weights), input: asFloat(UnsafePointer(ws.blockInputs[d])),
                                    outputGradient: asFloat(UnsafePointer(dy)), weightGradient: asFloat(g),
                                    biasGradient: asFloat(dBias), inputGradient: dx.map { asFloat($0) }, stream: stream)
            } else {
                conv.backward(weights: weights, input: ws.blockInputs[d], count: n, outputGradient: dy,
                              weightGradient: g, biasGradient: dBias, inputGradient: dx)
            }
        }
    }

    public func logits(_ parameters: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count: Int,
                       into logits: UnsafeMutablePointer<Scalar>, workspace ws: Workspace) {
        precondition(count <= ws.capacity, "ConvNet: \(count) images for a workspace of \(ws.capacity)")
        let ranges = ws.split(count), shared = SharedPointer(UnsafeMutablePointer(mutating: parameters))
        let x = SharedPointer(UnsafeMutablePointer(mutating: inputs)), z = SharedPointer(logits)
        parallelParts(ranges.count) { part in
            let r = ranges[part]
            self.forward(shared.base, inputs: x.base + r.lowerBound * self.inputFeatures, count: r.count, lane: ws.lanes[part],
                         logits: z.base + r.lowerBound * self.classes)
        }
    }

    public func accumulateGradient(_ p: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count n: Int,
                                   gradient: UnsafeMutablePointer<Scalar>, workspace ws: Workspace,
                                   outputGradient: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>) -> Void) {
        logits(p, inputs: inputs, count: n, into: ws.logits, workspace: ws)
        outputGradient(ws.logits, ws.logitGradient)
        let ranges = ws.split(n), shared = SharedPointer(UnsafeMutablePointer(mutating: p))
        let dz = SharedPointer(ws.logitGradient)
        parallelParts(ranges.count) { part in
            let r = ranges[part]
            self.backward(shared.base, count: r.count, lane: ws.lanes[part], logitGradient: dz.base + r.lowerBound * self.classes)
        }
        // The lanes' shares, added in lane order.
        for part in ranges.indices {
            let share = ws.lanes[part].gradient
            for k in 0..<parameterCount { gradient[k] += share[k] }
        }
    }
}

/// The number of worker threads for element-wise passes: the active processors.
public enum ProcessInfoThreads {
    public static let count: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()
}
