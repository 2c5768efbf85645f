import DistillNumerics
import Testing
import _TestSupport
@testable import DistillNetworks

/// Every layer's backward pass against central finite differences of its forward
/// pass, in Double, on tiny shapes. Each check differentiates `⟨r, layer(x)⟩` for a
/// fixed random `r`.
struct LayerDerivativeTests {
    static let step = 1e-6
    static let tolerance = 1e-7

    static func random(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        TestSupport.randomMatrix(1, count, seed: seed, scale: scale).values
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// A direct 3x3 convolution on NHWC images, written out loop by loop.
    static func directConvolution(_ conv: Convolution, _ x: [Double], _ w: [Double], _ b: [Double], count n: Int) -> [Double] {
        let (h, wd, oh, ow, cin, cout, pad) = (conv.height, conv.width, conv.outHeight, conv.outWidth, conv.inChannels,
                                               conv.outChannels, conv.padding)
        var y = [Double](repeating: 0, count: n * oh * ow * cout)
        for i in 0..<n {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for o in 0..<cout {
                        var s = b[o]
                        for c in 0..<cin {
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    let iy = oy + ky - pad, ix = ox + kx - pad
                                    guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                    s += w[o * conv.depth + c * 9 + ky * 3 + kx] * x[((i * h + iy) * wd + ix) * cin + c]
                                }
                            }
                        }
                        y[((i * oh + oy) * ow + ox) * cout + o] = s
                    }
                }
            }
        }
        return y
    }

    @Test(arguments: [1, 3])
    func convolution(padding: Int) {
        let conv = Convolution(inChannels: 2, outChannels: 3, height: 5, width: 4, padding: padding)
        let n = 2, outCount = conv.outChannels * n * conv.outHeight * conv.outWidth
        let x0 = Self.random(conv.inChannels * n * 20, seed: 1)
        let w0 = Self.random(conv.weightCount, seed: 2), b0 = Self.random(conv.outChannels, seed: 3)
        let r = Self.random(outCount, seed: 4)

        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: outCount)
            conv.forward(weights: w, bias: b, input: x, count: n, output: &y)
            return y
        }
        // The forward pass against a direct convolution.
        #expect(TestSupport.relativeError(forward(x0, w0, b0), Self.directConvolution(conv, x0, w0, b0, count: n)) < 1e-14)

        // Gradients are added to what is there: start from ones and subtract them.
        var dw = [Double](repeating: 1, count: conv.weightCount), db = [Double](repeating: 1, count: conv.outChannels)
        var dx = [Double](repeating: 7, count: x0.count)   // overwritten
        conv.backward(weights: w0, input: x0, count: n, outputGradient: r, weightGradient: &dw, biasGradient: &db,
                      inputGradient: &dx)
        let fdx = TestSupport.centralDifferences(of: { Self.dot(r, forward($0, w0, b0)) }, at: x0, step: Self.step)
        let fdw = TestSupport.centralDifferences(of: { Self.dot(r, forward(x0, $0, b0)) }, at: w0, step: Self.step)
        let fdb = TestSupport.centralDifferences(of: { Self.dot(r, forward(x0, w0, $0)) }, at: b0, step: Self.step)
        #expect(TestSupport.relativeError(dx, fdx) < Self.tolerance)
        #expect(TestSupport.relativeError(dw.map { $0 - 1 }, fdw) < Self.tolerance)
        #expect(TestSupport.relativeError(db.map { $0 - 1 }, fdb) < Self.tolerance)
    }

    /// oneDNN's Float convolution primitives (forward, backward data, backward
    /// weights and bias) against the plain Double convolution, which the test above
    /// checks against finite differences.
    @Test(arguments: [(1, 16, 7, 6, 3), (3, 16, 6, 5, 1), (16, 32, 4, 4, 1)])
    func oneDNNConvolutionMatchesPlain(inChannels: Int, outChannels: Int, height: Int, width: Int, padding: Int) {
        let conv = Convolution(inChannels: inChannels, outChannels: outChannels, height: height, width: width, padding: padding)
        let n = 3, outCount = n * conv.outHeight * conv.outWidth * outChannels
        let x = Self.random(n * height * width * inChannels, seed: 51), w = Self.random(conv.weightCount, seed: 52)
        let b = Self.random(outChannels, seed: 53), dy = Self.random(outCount, seed: 54)
        var y = [Double](repeating: 0, count: outCount)
        conv.forward(weights: w, bias: b, input: x, count: n, output: &y)
        var dw = [Double](repeating: 0, count: conv.weightCount), db = [Double](repeating: 0, count: outChannels)
        var dx = [Double](repeating: 0, count: x.count)
        conv.backward(weights: w, input: x, count: n, outputGradient: dy, weightGradient: &dw, biasGradient: &db, inputGradient: &dx)

        let primitives = ConvolutionPrimitives(conv, count: n, inputGradient: true, threads: 2)
        let stream = OneDNNStream(threads: 2)
        let (xf, wf, bf, dyf) = (x.map(Float.init), w.map(Float.init), b.map(Float.init), dy.map(Float.init))
        var yf = [Float](repeating: 0, count: outCount)
        primitives.forward(weights: wf, bias: bf, input: xf, output: &yf, stream: stream)
        var dwf = [Float](repeating: 9, count: conv.weightCount), dbf = [Float](repeating: 9, count: outChannels)
        var dxf = [Float](repeating: 9, count: x.count)
        primitives.backward(weights: wf, input: xf, outputGradient: dyf, weightGradient: &dwf, biasGradient: &dbf,
                            inputGradient: &dxf, stream: stream)
        #expect(TestSupport.relativeError(yf.map(Double.init), y) < 1e-5, "\(primitives.implementations)")
        #expect(TestSupport.relativeError(dxf.map(Double.init), dx) < 1e-5, "\(primitives.implementations)")
        #expect(TestSupport.relativeError(dwf.map(Double.init), dw) < 1e-5, "\(primitives.implementations)")
        #expect(TestSupport.relativeError(dbf.map(Double.init), db) < 1e-5, "\(primitives.implementations)")
    }

    /// The block's tail (instance norm with affine, ReLU, 2x2 average pooling, fused,
    /// NHWC) against the three layers written out one after the other.
    static func plainTail(_ tail: ConvolutionBlockTail, _ y: [Double], gamma: [Double], beta: [Double], count n: Int) -> [Double] {
        let (h, w, c) = (tail.height, tail.width, tail.channels)
        var out = [Double](repeating: 0, count: n * tail.pooledPlane * c)
        for i in 0..<n {
            for j in 0..<c {
                let plane = (0..<(h * w)).map { y[(i * h * w + $0) * c + j] }
                let mean = plane.reduce(0, +) / Double(h * w)
                let variance = plane.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(h * w)
                let a = plane.map { max(0, gamma[j] * ($0 - mean) / (variance + 1e-5).squareRoot() + beta[j]) }
                for py in 0..<(h / 2) {
                    for px in 0..<(w / 2) {
                        let s = a[2 * py * w + 2 * px] + a[2 * py * w + 2 * px + 1] + a[(2 * py + 1) * w + 2 * px]
                            + a[(2 * py + 1) * w + 2 * px + 1]
                        out[((i * (h / 2) + py) * (w / 2) + px) * c + j] = s / 4
                    }
                }
            }
        }
        return out
    }

    // Odd height: the last row is dropped by the floor; 16 channels as well as 3.
    @Test(arguments: [(4, 4, 3), (5, 6, 3), (5, 6, 16)])
    func blockTail(height: Int, width: Int, channels: Int) {
        let tail = ConvolutionBlockTail(channels: channels, height: height, width: width)
        let n = 2, size = tail.channels * n * tail.plane, outSize = tail.channels * n * tail.pooledPlane
        let y0 = Self.random(size, seed: 9), p0 = Self.random(2 * tail.channels, seed: 10).map { $0 + 0.3 }
        let r = Self.random(outSize, seed: 11)
        func gamma(_ p: [Double]) -> [Double] { Array(p[0..<channels]) }
        func beta(_ p: [Double]) -> [Double] { Array(p[channels...]) }
        func forward(_ y: [Double], _ p: [Double], threads: Int = 2) -> (out: [Double], xhat: [Double], scales: [Double]) {
            var xhat = [Double](repeating: 0, count: size), scales = [Double](repeating: 0, count: tail.channels * n)
            var out = [Double](repeating: 0, count: outSize)
            tail.forward(y, count: n, gamma: gamma(p), beta: beta(p), normalized: &xhat, scales: &scales, output: &out,
                         threads: threads)
            return (out, xhat, scales)
        }
        let f = forward(y0, p0)
        #expect(TestSupport.relativeError(f.out, Self.plainTail(tail, y0, gamma: gamma(p0), beta: beta(p0), count: n)) < 1e-13)
        func backward(threads: Int) -> (dy: [Double], dp: [Double]) {
            var dy = [Double](repeating: 0, count: size), dg = [Double](repeating: 0, count: channels), db = dg
            tail.backward(r, count: n, gamma: gamma(p0), beta: beta(p0), normalized: f.xhat, scales: f.scales,
                          dy: &dy, dGamma: &dg, dBeta: &db, threads: threads)
            return (dy, dg + db)
        }
        let (dy, dp) = backward(threads: 2)
        let fdy = TestSupport.centralDifferences(of: { Self.dot(r, forward($0, p0).out) }, at: y0, step: Self.step)
        let fdp = TestSupport.centralDifferences(of: { Self.dot(r, forward(y0, $0).out) }, at: p0, step: Self.step)
        #expect(TestSupport.relativeError(dy, fdy) < 1e-6)
        #expect(TestSupport.relativeError(dp, fdp) < 1e-6)
        // The same values on any number of threads (γ's and β's sums run over images in order).
        let one = backward(threads: 1), three = backward(threads: 3)
        #expect(one.dy == dy && three.dy == dy && one.dp == dp && three.dp == dp)
        #expect(forward(y0, p0, threads: 1).out == f.out)
    }

    @Test func relu() {
        let x0 = Self.random(12, seed: 7).map { $0 + ($0 > 0 ? 0.01 : -0.01) }   // away from the kink
        let r = Self.random(12, seed: 8)
        func forward(_ x: [Double]) -> [Double] { var a = x; ReLU.forward(&a, count: a.count); return a }
        var d = r
        ReLU.backward(&d, input: x0, count: d.count)
        let fd = TestSupport.centralDifferences(of: { Self.dot(r, forward($0)) }, at: x0, step: 1e-4)
        #expect(TestSupport.relativeError(d, fd) < Self.tolerance)
    }

    @Test(arguments: [(1.0, 1.0), (1.4, 0.1)])
    func dense(weightScale: Double, biasScale: Double) {
        let layer = Dense(inputs: 4, outputs: 3, weightScale: weightScale, biasScale: biasScale)
        let n = 2
        let x0 = Self.random(n * 4, seed: 12), p0 = Self.random(layer.parameterCount, seed: 13)
        let r = Self.random(n * 3, seed: 14)
        func forward(_ x: [Double], _ p: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: n * 3)
            layer.forward(p, input: x, count: n, output: &out)
            return out
        }
        var g = [Double](repeating: 0, count: layer.parameterCount), dx = [Double](repeating: 0, count: x0.count)
        layer.backward(p0, input: x0, count: n, outputGradient: r, gradient: &g, inputGradient: &dx)
        let fdx = TestSupport.centralDifferences(of: { Self.dot(r, forward($0, p0)) }, at: x0, step: Self.step)
        let fdp = TestSupport.centralDifferences(of: { Self.dot(r, forward(x0, $0)) }, at: p0, step: Self.step)
        #expect(TestSupport.relativeError(dx, fdx) < Self.tolerance)
        #expect(TestSupport.relativeError(g, fdp) < Self.tolerance)
    }

    @Test(arguments: NetworkLoss.allCases)
    func loss(_ loss: NetworkLoss) {
        let (n, classes, batch) = (3, 4, 5)
        let z0 = Self.random(n * classes, seed: 15, scale: 2)
        // Soft rows (not one-hot, one row not summing to 1) exercise the general formula.
        let t = Self.random(n * classes, seed: 16).map { abs($0) }
        var dz = [Double](repeating: 0, count: z0.count)
        let total = loss.gradient(logits: z0, targets: t, count: n, classes: classes, batch: batch, into: &dz)
        func value(_ z: [Double]) -> Double {
            var scratch = [Double](repeating: 0, count: z.count)
            return loss.gradient(logits: z, targets: t, count: n, classes: classes, batch: batch, into: &scratch) / Double(batch)
        }
        let fd = TestSupport.centralDifferences(of: value, at: z0, step: Self.step)
        #expect(TestSupport.relativeError(dz, fd) < Self.tolerance)
        #expect(total.isFinite)
    }
}
