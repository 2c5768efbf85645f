import CDNNL

/// How `ConvolutionPrimitives` computes a convolution: oneDNN's direct kernels, or
/// Winograd's F(4x4, 3x3) minimal filtering (Lavin & Gray 2016, oneDNN's
/// `jit_wino_4x3`), which does a quarter of the multiplications in 4x4 output
/// tiles at a larger rounding error (measured in the tests: about 1e-6 relative).
enum ConvolutionAlgorithm: Sendable, Equatable {
    case direct
    /// Winograd where oneDNN has it for the shape (channels in blocks of 16 on
    /// AVX-512), else direct.
    case winograd
}

/// One `Convolution` at one batch size as oneDNN primitives (Float): forward,
/// backward data (when the layer's input gradient is needed) and backward weights
/// with bias, built once and reused for every batch of that size.
///
/// The caller's data are in the layouts it names (NHWC by default). The primitives
/// run in the layout measured fastest for the layer, and the data are reordered to
/// and from it in each call where the two differ (oneDNN reorders, a few MB against
/// 10⁸-10⁹ multiply-adds; ConvNet-3 keeps its data in `nChw16c` so that only the
/// first layer's output and its gradient are reordered):
/// - a layer with fewer than 16 input channels (the first): NCHW, where oneDNN runs
///   im2col + its sgemm (`gemm:jit`), 4x (forward) and 10x (backward weights)
///   faster on MNIST's 1-channel 32x32 than its direct kernels on NHWC;
/// - otherwise Winograd (`.winograd`, where oneDNN has it: AVX-512) on channels in
///   blocks of 16 (`nChw16c`), else oneDNN's direct kernels on the caller's layouts.
/// Weights stay PyTorch's `oihw` in the parameters and are reordered to the layout
/// each primitive chose on every call (147k values for a 128-channel layer).
final class ConvolutionPrimitives {
    let count: Int
    private let forwardPD: dnnl_primitive_desc_t
    private let forwardPrimitive: dnnl_primitive_t
    private let backwardDataPD: dnnl_primitive_desc_t?
    private let backwardDataPrimitive: dnnl_primitive_t?
    private let backwardWeightsPD: dnnl_primitive_desc_t
    private let backwardWeightsPrimitive: dnnl_primitive_t
    // Memory objects: user buffers are bound per call; reordered weights are oneDNN's.
    private let bias, userWeights, diffBias, userDiffWeights: dnnl_memory_t
    private let source, destination, diffSource, diffDestination: DataMemory
    private let forwardWeights: dnnl_memory_t, forwardReorder: OneDNN.Reorder?
    private let backwardWeights: dnnl_memory_t?, backwardReorder: OneDNN.Reorder?
    private let diffWeights: dnnl_memory_t, diffReorder: OneDNN.Reorder?
    private let forwardScratchpad, backwardWeightsScratchpad: dnnl_memory_t, backwardDataScratchpad: dnnl_memory_t?
    private var owned: [dnnl_memory_t] = []

    /// Names of the implementations oneDNN chose: forward, backward data, backward weights.
    var implementations: [String] {
        [OneDNN.implementation(forwardPD), backwardDataPD.map(OneDNN.implementation) ?? "-",
         OneDNN.implementation(backwardWeightsPD)]
    }

    /// Primitives for `threads` threads: oneDNN fixes its blocking and work split
    /// for the OpenMP team size current when a primitive is made, so that size is
    /// set first (and `OneDNNStream` must run them with the same `threads`).
    ///
    /// `source` and `destination`: the layouts of the caller's input (and its
    /// gradient) and output (and its gradient), oneDNN tags (`dnnl_nhwc`,
    /// `dnnl_nchw`, `dnnl_nChw16c`).
    init(_ conv: Convolution, count n: Int, inputGradient: Bool, threads: Int, algorithm: ConvolutionAlgorithm = .winograd,
         source sourceTag: dnnl_format_tag_t = dnnl_nhwc, destination destinationTag: dnnl_format_tag_t = dnnl_nhwc) {
        count = n
        OneDNNThreads.set(threads)
        let srcDims = [n, conv.inChannels, conv.height, conv.width], dstDims = [n, conv.outChannels, conv.outHeight, conv.outWidth]
        let userSrc = OneDNN.descriptor(srcDims, sourceTag), userDst = OneDNN.descriptor(dstDims, destinationTag)
        let blocked = conv.inChannels >= 16
        let tag = blocked ? dnnl_nChw16c : dnnl_nchw
        var src = OneDNN.descriptor(srcDims, tag), dst = OneDNN.descriptor(dstDims, tag)
        var weightsAny = OneDNN.descriptor([conv.outChannels, conv.inChannels, 3, 3], dnnl_format_tag_any)
        var biasMD = OneDNN.descriptor([conv.outChannels], dnnl_x)
        let plain = OneDNN.descriptor([conv.outChannels, conv.inChannels, 3, 3], dnnl_oihw)
        // dnnl_dims_t is dnnl_dim_t[12]: the C functions read the first ndims values.
        let one = [Int64](repeating: 1, count: 12), pad = [Int64](repeating: Int64(conv.padding), count: 12)

        // Winograd when asked for and oneDNN has it for this shape (forward, backward
        // data and backward weights alike), else direct.
        func forwardDescriptor(_ kind: dnnl_alg_kind_t) -> dnnl_primitive_desc_t? {
            var desc = dnnl_convolution_desc_t()
            OneDNN.check(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, kind, &src, &weightsAny, &biasMD,
                                                            &dst, one, pad, pad), "dnnl_convolution_forward_desc_init")
            return OneDNN.primitiveDescriptorIfAvailable(&desc)
        }
        func backwardDataDescriptor(_ kind: dnnl_alg_kind_t, hint: dnnl_primitive_desc_t) -> dnnl_primitive_desc_t? {
            var desc = dnnl_convolution_desc_t()
            OneDNN.check(dnnl_convolution_backward_data_desc_init(&desc, kind, &src, &weightsAny, &dst, one, pad, pad),
                         "dnnl_convolution_backward_data_desc_init")
            return OneDNN.primitiveDescriptorIfAvailable(&desc, hint: hint)
        }
        func backwardWeightsDescriptor(_ kind: dnnl_alg_kind_t, hint: dnnl_primitive_desc_t) -> dnnl_primitive_desc_t? {
            var desc = dnnl_convolution_desc_t()
            OneDNN.check(dnnl_convolution_backward_weights_desc_init(&desc, kind, &src, &weightsAny, &biasMD, &dst, one, pad, pad),
                         "dnnl_convolution_backward_weights_desc_init")
            return OneDNN.primitiveDescriptorIfAvailable(&desc, hint: hint)
        }
        func make(_ kind: dnnl_alg_kind_t) -> (dnnl_primitive_desc_t, dnnl_primitive_desc_t?, dnnl_primitive_desc_t)? {
            guard let f = forwardDescriptor(kind) else { return nil }
            let d = inputGradient ? backwardDataDescriptor(kind, hint: f) : nil
            guard !inputGradient || d != nil, let w = backwardWeightsDescriptor(kind, hint: f) else {
                dnnl_primitive_desc_destroy(f)
                if let d { dnnl_primitive_desc_destroy(d) }
                return nil
            }
            return (f, d, w)
        }
        var made = algorithm == .winograd && blocked ? make(dnnl_convolution_winograd) : nil
        if made == nil && blocked {
            // Direct kernels on the caller's layouts (oneDNN's blocked direct kernels
            // want the machine's block size: 16 on AVX-512, 8 on AVX2).
            (src, dst) = (userSrc, userDst)
        }
        made = made ?? make(dnnl_convolution_direct)
        guard let (f, d, w) = made else {
            preconditionFailure("oneDNN: no direct convolution for \(conv) at \(n) images")
        }
        (forwardPD, backwardDataPD, backwardWeightsPD) = (f, d, w)
        forwardPrimitive = OneDNN.primitive(f)
        backwardDataPrimitive = d.map(OneDNN.primitive)
        backwardWeightsPrimitive = OneDNN.primitive(w)

        var owned = [dnnl_memory_t]()
        func memory(_ md: dnnl_memory_desc_t, allocate: Bool = false) -> dnnl_memory_t {
            var md = md
            let m = OneDNN.memory(&md, allocate: allocate)
            owned.append(m)
            return m
        }
        bias = memory(biasMD); userWeights = memory(plain); diffBias = memory(biasMD); userDiffWeights = memory(plain)
        // The primitives were given their data layout explicitly; check that they kept it.
        for (pd, what, want) in [(forwardPD, dnnl_query_src_md, src), (forwardPD, dnnl_query_dst_md, dst),
                                 (backwardWeightsPD, dnnl_query_src_md, src), (backwardWeightsPD, dnnl_query_diff_dst_md, dst)] {
            precondition(OneDNN.equal(OneDNN.query(pd, what), want), "oneDNN: a convolution changed its data layout")
        }
        source = DataMemory(user: userSrc, primitive: src, &owned)
        destination = DataMemory(user: userDst, primitive: dst, &owned)
        diffSource = DataMemory(user: userSrc, primitive: src, &owned)
        diffDestination = DataMemory(user: userDst, primitive: dst, &owned)
        let forwardMD = OneDNN.query(forwardPD, dnnl_query_weights_md)
        forwardReorder = OneDNN.reorder(plain, forwardMD)
        forwardWeights = forwardReorder == nil ? userWeights : memory(forwardMD, allocate: true)
        if let pd = backwardDataPD {
            let md = OneDNN.query(pd, dnnl_query_weights_md)
            if OneDNN.equal(md, forwardMD) {
                (backwardWeights, backwardReorder) = (forwardWeights, nil)
            } else {
                let reorder = OneDNN.reorder(plain, md)
                (backwardWeights, backwardReorder) = (reorder == nil ? userWeights : memory(md, allocate: true), reorder)
            }
        } else {
            (backwardWeights, backwardReorder) = (nil, nil)
        }
        let diffMD = OneDNN.query(backwardWeightsPD, dnnl_query_diff_weights_md)
        diffReorder = OneDNN.reorder(diffMD, plain)
        diffWeights = diffReorder == nil ? userDiffWeights : memory(diffMD, allocate: true)
        forwardScratchpad = OneDNN.scratchpad(forwardPD)
        backwardWeightsScratchpad = OneDNN.scratchpad(backwardWeightsPD)
        backwardDataScratchpad = backwardDataPD.map(OneDNN.scratchpad)
        owned += [forwardScratchpad, backwardWeightsScratchpad] + (backwardDataScratchpad.map { [$0] } ?? [])
        self.owned = owned
    }

    /// Whether oneDNN has Winograd (forward, backward data and weights) on this
    /// machine for ConvNet-3's 128-channel layers (AVX-512: yes). Without it
    /// ConvNet-3 keeps its data in NHWC (see `ConvNet.blocked`).
    static let winogradAvailable: Bool = {
        let probe = ConvolutionPrimitives(Convolution(inChannels: 128, outChannels: 128, height: 8, width: 8, padding: 1),
                                          count: 1, inputGradient: true, threads: 1, source: dnnl_nChw16c,
                                          destination: dnnl_nChw16c)
        return probe.implementations.allSatisfy { $0.contains("wino") }
    }()

    deinit {
        for m in owned { dnnl_memory_destroy(m) }
        for p in [forwardPrimitive, backwardDataPrimitive, backwardWeightsPrimitive] { if let p { dnnl_primitive_destroy(p) } }
        for r in [forwardReorder, backwardReorder, diffReorder] { r?.destroy() }
        for data in [source, destination, diffSource, diffDestination] { data.destroy() }
        for pd in [forwardPD, backwardDataPD, backwardWeightsPD] { if let pd { dnnl_primitive_desc_destroy(pd) } }
    }

    /// `y = conv(x) + b`, `count` images in the caller's layouts.
    func forward(weights: UnsafePointer<Float>, bias b: UnsafePointer<Float>, input x: UnsafePointer<Float>,
                 output y: UnsafeMutablePointer<Float>, stream: OneDNNStream) {
        OneDNN.bind(userWeights, weights)
        if let forwardReorder {
            stream.execute(forwardReorder.primitive, [(DNNL_ARG_FROM, userWeights), (DNNL_ARG_TO, forwardWeights),
                                                     (DNNL_ARG_SCRATCHPAD, forwardReorder.scratchpad)])
        }
        source.load(x, stream: stream)
        OneDNN.bind(bias, b); destination.bindUser(y)
        stream.execute(forwardPrimitive, [(DNNL_ARG_SRC, source.primitive), (DNNL_ARG_WEIGHTS, forwardWeights),
                                          (DNNL_ARG_BIAS, bias), (DNNL_ARG_DST, destination.primitive),
                                          (DNNL_ARG_SCRATCHPAD, forwardScratchpad)])
        destination.store(stream: stream)
    }

    /// Writes the weights' gradient (`oihw`) to `weightGradient` and the bias' to
    /// `biasGradient` (both overwritten) and, when `inputGradient` is given, the
    /// input's gradient (overwritten). `dy` is the output's gradient (layouts as in `init`).
    func backward(weights: UnsafePointer<Float>, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?, stream: OneDNNStream) {
        source.load(x, stream: stream)
        diffDestination.load(dy, stream: stream)
        OneDNN.bind(diffBias, biasGradient)
        OneDNN.bind(userDiffWeights, weightGradient)
        stream.execute(backwardWeightsPrimitive, [(DNNL_ARG_SRC, source.primitive), (DNNL_ARG_DIFF_DST, diffDestination.primitive),
                                                  (DNNL_ARG_DIFF_WEIGHTS, diffWeights), (DNNL_ARG_DIFF_BIAS, diffBias),
                                                  (DNNL_ARG_SCRATCHPAD, backwardWeightsScratchpad)])
        if let diffReorder {
            stream.execute(diffReorder.primitive, [(DNNL_ARG_FROM, diffWeights), (DNNL_ARG_TO, userDiffWeights),
                                                  (DNNL_ARG_SCRATCHPAD, diffReorder.scratchpad)])
        }
        guard let dx, let primitive = backwardDataPrimitive, let backwardWeights, let backwardDataScratchpad else { return }
        OneDNN.bind(userWeights, weights)
        if let backwardReorder {
            stream.execute(backwardReorder.primitive, [(DNNL_ARG_FROM, userWeights), (DNNL_ARG_TO, backwardWeights),
                                                      (DNNL_ARG_SCRATCHPAD, backwardReorder.scratchpad)])
        }
        diffSource.bindUser(dx)
        stream.execute(primitive, [(DNNL_ARG_DIFF_SRC, diffSource.primitive), (DNNL_ARG_WEIGHTS, backwardWeights),
                                   (DNNL_ARG_DIFF_DST, diffDestination.primitive), (DNNL_ARG_SCRATCHPAD, backwardDataScratchpad)])
        diffSource.store(stream: stream)
    }
}

/// One data argument of a convolution: the caller's buffer (bound per call)
/// and, when the primitive runs another layout, a buffer in that layout (oneDNN's)
/// with the reorder between them.
private struct DataMemory {
    /// The caller's buffer.
    let user: dnnl_memory_t
    /// What the primitive reads or writes: `user` itself when the layouts agree.
    let primitive: dnnl_memory_t
    /// The caller's layout -> the primitive's (`load`) and back (`store`); nil when they agree.
    private let reorder, back: OneDNN.Reorder?

    init(user userMD: dnnl_memory_desc_t, primitive primitiveMD: dnnl_memory_desc_t, _ owned: inout [dnnl_memory_t]) {
        var (u, p) = (userMD, primitiveMD)
        user = OneDNN.memory(&u)
        owned.append(user)
        if OneDNN.equal(userMD, primitiveMD) {
            (primitive, reorder, back) = (user, nil, nil)
        } else {
            primitive = OneDNN.memory(&p, allocate: true)
            owned.append(primitive)
            (reorder, back) = (OneDNN.reorder(userMD, primitiveMD), OneDNN.reorder(primitiveMD, userMD))
        }
    }

    func bindUser(_ pointer: UnsafeRawPointer) { OneDNN.bind(user, pointer) }

    /// Makes `primitive` hold the caller's values at `pointer`.
    func load(_ pointer: UnsafeRawPointer, stream: OneDNNStream) {
        bindUser(pointer)
        if let reorder {
            stream.execute(reorder.primitive, [(DNNL_ARG_FROM, user), (DNNL_ARG_TO, primitive), (DNNL_ARG_SCRATCHPAD, reorder.scratchpad)])
        }
    }

    /// Copies `primitive` to the caller's buffer last bound (`bindUser`).
    func store(stream: OneDNNStream) {
        if let back {
            stream.execute(back.primitive, [(DNNL_ARG_FROM, primitive), (DNNL_ARG_TO, user), (DNNL_ARG_SCRATCHPAD, back.scratchpad)])
        }
    }

    func destroy() { reorder?.destroy(); back?.destroy() }
}
