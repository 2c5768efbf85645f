/// A 3x3, stride-1 convolution with zero padding on NHWC images (pixel-major,
/// channels contiguous: value `(i, y, x, c)` at `((i * height + y) * width + x) * channels + c`).
///
/// Weights are `outChannels x (inChannels * 9)`, row-major in PyTorch's
/// `(c, ky, kx)` order (oneDNN's `oihw`); bias has `outChannels` values.
///
/// The `Float` network runs its convolutions on oneDNN (`ConvolutionPrimitives`);
/// the plain loops here are the `Double` path, which the derivative tests check
/// against finite differences and the `Float` path is checked against.
public struct Convolution: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let height: Int
    public let width: Int
    public let padding: Int

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, padding: Int) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.height = height
        self.width = width
        self.padding = padding
    }

    public var outHeight: Int { height + 2 * padding - 2 }
    public var outWidth: Int { width + 2 * padding - 2 }
    /// Values of the weight matrix (the bias follows it in the parameters).
    public var weightCount: Int { outChannels * depth }
    /// Inputs of one output value, `inChannels * 9`.
    public var depth: Int { inChannels * 9 }

    /// Calls `body(input offset, weight offset)` for every tap of output pixel
    /// `(i, oy, ox)` that lands inside the image (the padding contributes zero).
    @inline(__always)
    private func taps(_ i: Int, _ oy: Int, _ ox: Int, _ body: (Int, Int) -> Void) {
        for ky in 0..<3 {
            let iy = oy + ky - padding
            guard iy >= 0 && iy < height else { continue }
            for kx in 0..<3 {
                let ix = ox + kx - padding
                guard ix >= 0 && ix < width else { continue }
                let pixel = ((i * height + iy) * width + ix) * inChannels
                for c in 0..<inChannels { body(pixel + c, c * 9 + ky * 3 + kx) }
            }
        }
    }

    /// `y = conv(x) + b`: `x` is `count x height x width x inChannels`, `y`
    /// `count x outHeight x outWidth x outChannels` (both NHWC).
    func forward<S: NetworkScalar>(weights: UnsafePointer<S>, bias: UnsafePointer<S>, input x: UnsafePointer<S>,
                                   count: Int, output y: UnsafeMutablePointer<S>) {
        for i in 0..<count {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    let out = y + ((i * outHeight + oy) * outWidth + ox) * outChannels
                    for o in 0..<outChannels {
                        var s = bias[o]
                        let row = weights + o * depth
                        taps(i, oy, ox) { input, tap in s += row[tap] * x[input] }
                        out[o] = s
                    }
                }
            }
        }
    }

    /// Adds the weights' and bias' gradients to `weightGradient`, `biasGradient` and,
    /// when `inputGradient` is given, overwrites it with the input's gradient.
    /// `dy` is the output's gradient (NHWC, like `y`).
    func backward<S: NetworkScalar>(weights: UnsafePointer<S>, input x: UnsafePointer<S>, count: Int,
                                    outputGradient dy: UnsafePointer<S>,
                                    weightGradient: UnsafeMutablePointer<S>, biasGradient: UnsafeMutablePointer<S>,
                                    inputGradient dx: UnsafeMutablePointer<S>?) {
        dx?.update(repeating: 0, count: count * height * width * inChannels)
        for i in 0..<count {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    let g = dy + ((i * outHeight + oy) * outWidth + ox) * outChannels
                    for o in 0..<outChannels {
                        let go = g[o]
                        biasGradient[o] += go
                        let row = weights + o * depth, dRow = weightGradient + o * depth
                        taps(i, oy, ox) { input, tap in
                            dRow[tap] += go * x[input]
                            if let dx { dx[input] += go * row[tap] }
                        }
                    }
                }
            }
        }
    }
}
