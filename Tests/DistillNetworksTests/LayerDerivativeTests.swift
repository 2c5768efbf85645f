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

    @Test(arguments: [1, 3])
    func convolution(padding: Int) {
        let conv = Convolution(inChannels: 2, outChannels: 3, height: 5, width: 4, padding: padding)
        let n = 2, outCount = conv.outChannels * n * conv.outHeight * conv.outWidth
        let x0 = Self.random(conv.inChannels * n * 20, seed: 1)
        let w0 = Self.random(conv.weightCount, seed: 2), b0 = Self.random(conv.outChannels, seed: 3)
        let r = Self.random(outCount, seed: 4)
        var col = [Double](repeating: 0, count: conv.depth * n * conv.outHeight * conv.outWidth)

        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: outCount)
            conv.forward(weights: w, bias: b, input: x, count: n, output: &y, col: &col, threads: 2)
            return y
        }
        // The forward pass against a direct convolution.
        let y = forward(x0, w0, b0)
        var direct = [Double](repeating: 0, count: outCount)
        let (oh, ow) = (conv.outHeight, conv.outWidth)
        for o in 0..<conv.outChannels {
            for i in 0..<n {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s = b0[o]
                        for c in 0..<conv.inChannels {
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    let iy = oy + ky - padding, ix = ox + kx - padding
                                    guard iy >= 0, iy < 5, ix >= 0, ix < 4 else { continue }
                                    s += w0[o * conv.depth + c * 9 + ky * 3 + kx] * x0[((c * n + i) * 5 + iy) * 4 + ix]
                                }
                            }
                        }
                        direct[((o * n + i) * oh + oy) * ow + ox] = s
                    }
                }
            }
        }
        #expect(TestSupport.relativeError(y, direct) < 1e-14)

        var dw = [Double](repeating: 0, count: conv.weightCount), db = [Double](repeating: 0, count: conv.outChannels)
        var dx = [Double](repeating: 0, count: x0.count)
        conv.backward(weights: w0, input: x0, count: n, outputGradient: r, weightGradient: &dw, biasGradient: &db,
                      inputGradient: &dx, col: &col, threads: 2)
        let fdx = TestSupport.centralDifferences(of: { Self.dot(r, forward($0, w0, b0)) }, at: x0, step: Self.step)
        let fdw = TestSupport.centralDifferences(of: { Self.dot(r, forward(x0, $0, b0)) }, at: w0, step: Self.step)
        let fdb = TestSupport.centralDifferences(of: { Self.dot(r, forward(x0, w0, $0)) }, at: b0, step: Self.step)
        #expect(TestSupport.relativeError(dx, fdx) < Self.tolerance)
        #expect(TestSupport.relativeError(dw, fdw) < Self.tolerance)
        #expect(TestSupport.relativeError(db, fdb) < Self.tolerance)
    }

    @Test func instanceNormalizationWithAffine() {
        let count = 12
        let y0 = Self.random(count, seed: 5), r = Self.random(count, seed: 6)
        let params0 = [1.3, -0.4]   // γ, β
        func forward(_ y: [Double], _ p: [Double]) -> [Double] {
            var xhat = [Double](repeating: 0, count: count)
            _ = InstanceNormalization.normalize(y, count: count, into: &xhat)
            return xhat.map { p[0] * $0 + p[1] }
        }
        var xhat = [Double](repeating: 0, count: count)
        let scale = InstanceNormalization.normalize(y0, count: count, into: &xhat)
        var dy = [Double](repeating: 0, count: count)
        var dGamma = 0.0, dBeta = 0.0
        InstanceNormalization.backward(r, normalized: xhat, scale: scale, gamma: params0[0], count: count, dy: &dy,
                                       dGamma: &dGamma, dBeta: &dBeta)
        let fdy = TestSupport.centralDifferences(of: { Self.dot(r, forward($0, params0)) }, at: y0, step: Self.step)
        let fdp = TestSupport.centralDifferences(of: { Self.dot(r, forward(y0, $0)) }, at: params0, step: Self.step)
        #expect(TestSupport.relativeError(dy, fdy) < Self.tolerance)
        #expect(TestSupport.relativeError([dGamma, dBeta], fdp) < Self.tolerance)
        // Mean 0 and variance 1/(1 + ε/var) after normalisation.
        #expect(abs(xhat.reduce(0, +)) < 1e-12)
    }

    @Test func reluAndAveragePooling() {
        let (h, w) = (5, 6)   // odd height: the last row is dropped by the floor
        let x0 = Self.random(h * w, seed: 7).map { $0 + ($0 > 0 ? 0.01 : -0.01) }   // away from the kink
        let r = Self.random((h / 2) * (w / 2), seed: 8)
        func forward(_ x: [Double]) -> [Double] {
            var a = x
            ReLU.forward(&a, count: a.count)
            var out = [Double](repeating: 0, count: (h / 2) * (w / 2))
            AveragePooling.forward(a, height: h, width: w, into: &out)
            return out
        }
        var d = [Double](repeating: 0, count: h * w)
        AveragePooling.backward(r, height: h, width: w, into: &d)
        ReLU.backward(&d, input: x0, count: d.count)
        let fd = TestSupport.centralDifferences(of: { Self.dot(r, forward($0)) }, at: x0, step: 1e-4)
        #expect(TestSupport.relativeError(d, fd) < Self.tolerance)
    }

    @Test func blockTailMatchesItsLayers() {
        // The fused block (norm, ReLU, pool over CNHW planes) against FD as a whole.
        let tail = ConvolutionBlockTail(channels: 2, height: 4, width: 4)
        let n = 3, size = tail.channels * n * tail.plane, outSize = tail.channels * n * tail.pooledPlane
        let y0 = Self.random(size, seed: 9), p0 = Self.random(2 * tail.channels, seed: 10)
        let r = Self.random(outSize, seed: 11)
        func forward(_ y: [Double], _ p: [Double]) -> [Double] {
            var xhat = [Double](repeating: 0, count: size), scales = [Double](repeating: 0, count: tail.channels * n)
            var out = [Double](repeating: 0, count: outSize)
            tail.forward(y, count: n, gamma: Array(p[0..<2]), beta: Array(p[2..<4]), normalized: &xhat, scales: &scales,
                         output: &out, threads: 2)
            return out
        }
        var xhat = [Double](repeating: 0, count: size), scales = [Double](repeating: 0, count: tail.channels * n)
        var out = [Double](repeating: 0, count: outSize)
        tail.forward(y0, count: n, gamma: Array(p0[0..<2]), beta: Array(p0[2..<4]), normalized: &xhat, scales: &scales,
                     output: &out, threads: 2)
        var dy = [Double](repeating: 0, count: size), dg = [0.0, 0.0], db = [0.0, 0.0]
        tail.backward(r, count: n, gamma: Array(p0[0..<2]), beta: Array(p0[2..<4]), normalized: xhat, scales: scales,
                      dy: &dy, dGamma: &dg, dBeta: &db, threads: 2)
        let fdy = TestSupport.centralDifferences(of: { Self.dot(r, forward($0, p0)) }, at: y0, step: Self.step)
        let fdp = TestSupport.centralDifferences(of: { Self.dot(r, forward(y0, $0)) }, at: p0, step: Self.step)
        #expect(TestSupport.relativeError(dy, fdy) < 1e-6)
        #expect(TestSupport.relativeError(dg + db, fdp) < 1e-6)
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
