import DistillNumerics
import Testing
import _TestSupport
@testable import DistillNetworks

/// The Float fast paths against the paths the derivative tests check: Winograd
/// convolutions against direct ones, the vectorised Float block tail against the
/// generic (Double) one.
struct FastPathTests {
    /// Winograd F(4x4, 3x3) (where oneDNN has it: AVX-512) against oneDNN's direct
    /// kernels on ConvNet-3's 128-channel layers (16x16 and 8x8), forward, backward
    /// data, backward weights and bias. Winograd's transforms round differently;
    /// measured here 4e-7 to 1.1e-6 relative (2-norm) at 16x16.
    @Test(arguments: [16, 8])
    func winogradMatchesDirect(size: Int) {
        let conv = Convolution(inChannels: 128, outChannels: 128, height: size, width: size, padding: 1)
        let n = 3, outCount = n * size * size * 128
        let x = LayerDerivativeTests.random(n * size * size * 128, seed: 61).map(Float.init)
        let w = LayerDerivativeTests.random(conv.weightCount, seed: 62).map { Float($0 / 12) }
        let b = LayerDerivativeTests.random(128, seed: 63).map(Float.init)
        let dy = LayerDerivativeTests.random(outCount, seed: 64).map(Float.init)
        func run(_ algorithm: ConvolutionAlgorithm) -> (y: [Double], dx: [Double], dw: [Double], db: [Double], names: [String]) {
            let primitives = ConvolutionPrimitives(conv, count: n, inputGradient: true, threads: 1, algorithm: algorithm)
            let stream = OneDNNStream(threads: 1)
            var y = [Float](repeating: 9, count: outCount), dx = [Float](repeating: 9, count: x.count)
            var dw = [Float](repeating: 9, count: conv.weightCount), db = [Float](repeating: 9, count: 128)
            primitives.forward(weights: w, bias: b, input: x, output: &y, stream: stream)
            primitives.backward(weights: w, input: x, outputGradient: dy, weightGradient: &dw, biasGradient: &db,
                                inputGradient: &dx, stream: stream)
            return (y.map(Double.init), dx.map(Double.init), dw.map(Double.init), db.map(Double.init), primitives.implementations)
        }
        let direct = run(.direct), winograd = run(.winograd)
        #expect(!direct.names.contains { $0.contains("wino") })
        let note = "\(winograd.names)"
        print("winograd against direct at \(size)x\(size), \(winograd.names): relative errors",
              [(winograd.y, direct.y), (winograd.dx, direct.dx), (winograd.dw, direct.dw), (winograd.db, direct.db)]
                .map { TestSupport.relativeError($0.0, $0.1) })
        #expect(TestSupport.relativeError(winograd.y, direct.y) < 1e-5, "\(note)")
        #expect(TestSupport.relativeError(winograd.dx, direct.dx) < 1e-5, "\(note)")
        #expect(TestSupport.relativeError(winograd.dw, direct.dw) < 1e-5, "\(note)")
        #expect(TestSupport.relativeError(winograd.db, direct.db) < 1e-5, "\(note)")
    }

    /// The vectorised Float tail against the generic tail run in Double (which
    /// `blockTail` checks against finite differences and a plain reference): whole
    /// vectors (128 channels), a partial last vector (20 = 8 + 8 + 4), and the
    /// `nChw16c` layout (32 channels; its data converted from and to NHWC here); odd sizes.
    @Test(arguments: [(8, 8, 128, false), (5, 7, 20, false), (7, 5, 32, true)])
    func floatTailMatchesDouble(height: Int, width: Int, channels: Int, blocked: Bool) {
        let tail = ConvolutionBlockTail(channels: channels, height: height, width: width)
        let fast = ConvolutionBlockTail(channels: channels, height: height, width: width, blocked: blocked)
        let n = 3, size = channels * n * tail.plane, outSize = channels * n * tail.pooledPlane
        let y = LayerDerivativeTests.random(size, seed: 71).map { Double(Float($0)) }
        let gamma = LayerDerivativeTests.random(channels, seed: 72).map { Double(Float($0 + 0.5)) }
        let beta = LayerDerivativeTests.random(channels, seed: 73).map { Double(Float($0 / 2)) }
        let dOut = LayerDerivativeTests.random(outSize, seed: 74).map { Double(Float($0)) }
        // NHWC offset -> nChw16c offset, for one array of `pixels` per image.
        func blockedIndex(_ k: Int, pixels: Int) -> Int {
            let (i, pixel, c) = (k / (pixels * channels), (k / channels) % pixels, k % channels)
            return ((i * channels / 16 + c / 16) * pixels + pixel) * 16 + c % 16
        }
        func toFast(_ x: [Double], pixels: Int) -> [Double] {
            guard blocked else { return x }
            var out = x
            for k in x.indices { out[blockedIndex(k, pixels: pixels)] = x[k] }
            return out
        }
        func fromFast(_ x: [Double], pixels: Int) -> [Double] {
            guard blocked else { return x }
            return x.indices.map { x[blockedIndex($0, pixels: pixels)] }
        }
        func run<S: NetworkScalar>(_: S.Type, _ tail: ConvolutionBlockTail) -> [[Double]] {
            let (p, q) = (blocked && S.self == Float.self) ? (tail.plane, tail.pooledPlane) : (0, 0)
            func inn(_ x: [Double], _ pixels: Int) -> [S] { (pixels > 0 ? toFast(x, pixels: pixels) : x).map { S($0) } }
            func out(_ x: [S], _ pixels: Int) -> [Double] { let d = x.map { Double($0) }; return pixels > 0 ? fromFast(d, pixels: pixels) : d }
            var xhat = [S](repeating: 9, count: size), scales = [S](repeating: 9, count: channels * n)
            var pooled = [S](repeating: 9, count: outSize), dy = [S](repeating: 9, count: size)
            var dg = [S](repeating: 0, count: channels), db = dg
            let (gs, bs) = (gamma.map { S($0) }, beta.map { S($0) })
            tail.forward(inn(y, p), count: n, gamma: gs, beta: bs, normalized: &xhat, scales: &scales, output: &pooled, threads: 2)
            tail.backward(inn(dOut, q), count: n, gamma: gs, beta: bs, normalized: xhat, scales: scales, dy: &dy, dGamma: &dg,
                          dBeta: &db, threads: 2)
            return [out(pooled, q), out(xhat, p), out(scales, 0), out(dy, p), out(dg, 0), out(db, 0)]
        }
        let float = run(Float.self, fast), double = run(Double.self, tail)
        for (name, (f, d)) in zip(["output", "x̂", "scales", "dy", "dγ", "dβ"], zip(float, double)) {
            #expect(TestSupport.relativeError(f, d) < 1e-5, "\(name)")
        }
    }
}
