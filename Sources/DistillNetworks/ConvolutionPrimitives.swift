import CDNNL

/// One `Convolution` at one batch size as oneDNN primitives (Float): forward,
/// backward data (when the layer's input gradient is needed) and backward weights
/// with bias, built once and reused for every batch of that size.
///
/// Data are NHWC (oneDNN's `nhwc`: pixel-major, channels contiguous), which its
/// direct AVX-512 kernels run without reorders; weights stay in PyTorch's `oihw`
/// in the parameters and are reordered to the layout each primitive chose on
/// every call (147k values for a 128-channel layer, against 10⁹ multiply-adds).
final class ConvolutionPrimitives {
    let count: Int
    private let forwardPD: dnnl_primitive_desc_t
    private let forwardPrimitive: dnnl_primitive_t
    private let backwardDataPD: dnnl_primitive_desc_t?
    private let backwardDataPrimitive: dnnl_primitive_t?
    private let backwardWeightsPD: dnnl_primitive_desc_t
    private let backwardWeightsPrimitive: dnnl_primitive_t
    // Memory objects: user buffers are bound per call; reordered weights are oneDNN's.
    private let source, destination, bias, userWeights, diffSource, diffDestination, diffBias, userDiffWeights: dnnl_memory_t
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
    init(_ conv: Convolution, count n: Int, inputGradient: Bool, threads: Int) {
        count = n
        OneDNNThreads.set(threads)
        var src = OneDNN.descriptor([n, conv.inChannels, conv.height, conv.width], dnnl_nhwc)
        var dst = OneDNN.descriptor([n, conv.outChannels, conv.outHeight, conv.outWidth], dnnl_nhwc)
        var weightsAny = OneDNN.descriptor([conv.outChannels, conv.inChannels, 3, 3], dnnl_format_tag_any)
        var biasMD = OneDNN.descriptor([conv.outChannels], dnnl_x)
        let plain = OneDNN.descriptor([conv.outChannels, conv.inChannels, 3, 3], dnnl_oihw)
        // dnnl_dims_t is dnnl_dim_t[12]: the C functions read the first ndims values.
        let one = [Int64](repeating: 1, count: 12), pad = [Int64](repeating: Int64(conv.padding), count: 12)
        func withDims<R>(_ body: (UnsafePointer<Int64>, UnsafePointer<Int64>) -> R) -> R { body(one, pad) }

        var forwardDesc = dnnl_convolution_desc_t()
        OneDNN.check(withDims { dnnl_convolution_forward_desc_init(&forwardDesc, dnnl_forward_training, dnnl_convolution_direct,
                                                                  &src, &weightsAny, &biasMD, &dst, $0, $1, $1) },
                     "dnnl_convolution_forward_desc_init")
        forwardPD = OneDNN.primitiveDescriptor(&forwardDesc)
        forwardPrimitive = OneDNN.primitive(forwardPD)

        if inputGradient {
            var desc = dnnl_convolution_desc_t()
            OneDNN.check(withDims { dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &src, &weightsAny,
                                                                            &dst, $0, $1, $1) },
                         "dnnl_convolution_backward_data_desc_init")
            let pd = OneDNN.primitiveDescriptor(&desc, hint: forwardPD)
            backwardDataPD = pd
            backwardDataPrimitive = OneDNN.primitive(pd)
        } else {
            backwardDataPD = nil
            backwardDataPrimitive = nil
        }
        var weightsDesc = dnnl_convolution_desc_t()
        OneDNN.check(withDims { dnnl_convolution_backward_weights_desc_init(&weightsDesc, dnnl_convolution_direct, &src,
                                                                           &weightsAny, &biasMD, &dst, $0, $1, $1) },
                     "dnnl_convolution_backward_weights_desc_init")
        backwardWeightsPD = OneDNN.primitiveDescriptor(&weightsDesc, hint: forwardPD)
        backwardWeightsPrimitive = OneDNN.primitive(backwardWeightsPD)

        var owned = [dnnl_memory_t]()
        func memory(_ md: dnnl_memory_desc_t, allocate: Bool = false) -> dnnl_memory_t {
            var md = md
            let m = OneDNN.memory(&md, allocate: allocate)
            owned.append(m)
            return m
        }
        source = memory(src); destination = memory(dst); bias = memory(biasMD); userWeights = memory(plain)
        diffSource = memory(src); diffDestination = memory(dst); diffBias = memory(biasMD); userDiffWeights = memory(plain)
        // The primitives were given nhwc data explicitly; check that they kept it.
        for (pd, what, want) in [(forwardPD, dnnl_query_src_md, src), (forwardPD, dnnl_query_dst_md, dst),
                                 (backwardWeightsPD, dnnl_query_diff_dst_md, dst)] {
            precondition(OneDNN.equal(OneDNN.query(pd, what), want), "oneDNN: a convolution changed the nhwc data layout")
        }
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

    deinit {
        for m in owned { dnnl_memory_destroy(m) }
        for p in [forwardPrimitive, backwardDataPrimitive, backwardWeightsPrimitive] { if let p { dnnl_primitive_destroy(p) } }
        for r in [forwardReorder, backwardReorder, diffReorder] { r?.destroy() }
        for pd in [forwardPD, backwardDataPD, backwardWeightsPD] { if let pd { dnnl_primitive_desc_destroy(pd) } }
    }

    /// `y = conv(x) + b`, NHWC, `count` images.
    func forward(weights: UnsafePointer<Float>, bias b: UnsafePointer<Float>, input x: UnsafePointer<Float>,
                 output y: UnsafeMutablePointer<Float>, stream: OneDNNStream) {
        OneDNN.bind(userWeights, weights)
        if let forwardReorder {
            stream.execute(forwardReorder.primitive, [(DNNL_ARG_FROM, userWeights), (DNNL_ARG_TO, forwardWeights),
                                                     (DNNL_ARG_SCRATCHPAD, forwardReorder.scratchpad)])
        }
        OneDNN.bind(source, x); OneDNN.bind(bias, b); OneDNN.bind(destination, y)
        stream.execute(forwardPrimitive, [(DNNL_ARG_SRC, source), (DNNL_ARG_WEIGHTS, forwardWeights),
                                          (DNNL_ARG_BIAS, bias), (DNNL_ARG_DST, destination),
                                          (DNNL_ARG_SCRATCHPAD, forwardScratchpad)])
    }

    /// Writes the weights' gradient (`oihw`) to `weightGradient` and the bias' to
    /// `biasGradient` (both overwritten) and, when `inputGradient` is given, the
    /// input's gradient (NHWC, overwritten). `dy` is the output's gradient.
    func backward(weights: UnsafePointer<Float>, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?, stream: OneDNNStream) {
        OneDNN.bind(source, x); OneDNN.bind(diffDestination, dy); OneDNN.bind(diffBias, biasGradient)
        OneDNN.bind(userDiffWeights, weightGradient)
        stream.execute(backwardWeightsPrimitive, [(DNNL_ARG_SRC, source), (DNNL_ARG_DIFF_DST, diffDestination),
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
        OneDNN.bind(diffSource, dx)
        stream.execute(primitive, [(DNNL_ARG_DIFF_SRC, diffSource), (DNNL_ARG_WEIGHTS, backwardWeights),
                                   (DNNL_ARG_DIFF_DST, diffDestination), (DNNL_ARG_SCRATCHPAD, backwardDataScratchpad)])
    }
}
