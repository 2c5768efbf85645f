import Foundation
import DistillNumerics
import Testing
import _TestSupport
@testable import DistillNetworks

/// Whole networks: gradients against finite differences (Double), ConvNet-3's output
/// against a plain reference, and the Float path against the Double one.
struct NetworkTests {
    /// `Σ r ⊙ logits` and its gradient through `accumulateGradient`.
    static func gradient<N: TrainableNetwork>(_ net: N, _ p: [Double], _ x: [Double], _ r: [Double], count: Int) -> [Double]
        where N.Scalar == Double {
        var g = [Double](repeating: 0, count: net.parameterCount)
        let ws = net.makeWorkspace(capacity: count)
        net.accumulateGradient(p, inputs: x, count: count, gradient: &g, workspace: ws) { _, dz in
            for k in 0..<r.count { dz[k] = r[k] }
        }
        return g
    }

    static func logits<N: TrainableNetwork>(_ net: N, _ p: [N.Scalar], _ x: [N.Scalar], count: Int) -> [N.Scalar] {
        var z = [N.Scalar](repeating: 0, count: count * net.classes)
        net.logits(p, inputs: x, count: count, into: &z, workspace: net.makeWorkspace(capacity: count))
        return z
    }

    @Test(arguments: [1, 2])
    func convNetGradient(channels: Int) {
        let net = ConvNet<Double>(channels: channels, height: 6, width: 5, classes: 3, networkWidth: 3, depth: 2)
        var random = SplitMix64(seed: 21)
        var p = net.initialParameters(&random)
        // Move γ, β off their initial 1, 0 so that their derivatives are generic.
        p = p.enumerated().map { $0.element + 0.1 * Double(($0.offset * 7) % 5 - 2) }
        let n = 2
        let x = LayerDerivativeTests.random(n * net.inputFeatures, seed: 22)
        let r = LayerDerivativeTests.random(n * 3, seed: 23)
        let g = Self.gradient(net, p, x, r, count: n)
        let fd = TestSupport.centralDifferences(of: { LayerDerivativeTests.dot(r, Self.logits(net, $0, x, count: n)) },
                                                at: p, step: 1e-6)
        #expect(TestSupport.relativeError(g, fd) < 1e-6)
    }

    @Test(arguments: [MLP<Double>.Parameterisation.standard, .ntk(weightStd: 1.4, biasStd: 0.1)])
    func mlpGradient(_ parameterisation: MLP<Double>.Parameterisation) {
        let net = MLP<Double>(inputFeatures: 5, classes: 3, width: 4, depth: 3, parameterisation: parameterisation)
        var random = SplitMix64(seed: 24)
        let p = net.initialParameters(&random), n = 3
        let x = LayerDerivativeTests.random(n * 5, seed: 25), r = LayerDerivativeTests.random(n * 3, seed: 26)
        let g = Self.gradient(net, p, x, r, count: n)
        let fd = TestSupport.centralDifferences(of: { LayerDerivativeTests.dot(r, Self.logits(net, $0, x, count: n)) },
                                                at: p, step: 1e-6)
        #expect(TestSupport.relativeError(g, fd) < 1e-6)
    }

    /// ConvNet-3's shapes on MNIST: padding 3 first, 32 -> 16 -> 8 -> 4, 2048 features.
    @Test func convNetShapesOnMNIST() {
        let net = ConvNet<Float>(channels: 1, height: 28, width: 28, classes: 10)
        #expect(net.convolutions.map(\.padding) == [3, 1, 1])
        #expect(net.convolutions.map(\.outHeight) == [32, 16, 8])
        #expect(net.features == 2048)
        #expect(net.parameterCount == (128 * 9 + 3 * 128) + 2 * (128 * 1152 + 3 * 128) + 2048 * 10 + 10)
        let rgb = ConvNet<Float>(channels: 3, height: 32, width: 32, classes: 10)
        #expect(rgb.convolutions.map(\.padding) == [1, 1, 1] && rgb.features == 2048)
    }

    /// The Float network (oneDNN's sgemm, im2col) against a plain Double reference:
    /// direct convolutions, instance norm, ReLU, average pooling, linear layer.
    /// Width 8 runs NHWC; width 16 runs nChw16c with Winograd where oneDNN has it.
    @Test(arguments: [8, 16])
    func convNetMatchesPlainReference(width: Int) {
        let (c, h, w, classes, n) = (1, 28, 28, 10, 3)
        let net = ConvNet<Float>(channels: c, height: h, width: w, classes: classes, networkWidth: width, depth: 3)
        var random = SplitMix64(seed: 27)
        var p = net.initialParameters(&random)
        for i in p.indices { p[i] += Float(0.05 * sin(Double(i))) }   // γ, β off 1, 0
        let x = LayerDerivativeTests.random(n * c * h * w, seed: 28).map(Float.init)
        let z = Self.logits(net, p, x, count: n)
        let reference = Self.reference(p.map(Double.init), x.map(Double.init), count: n, channels: c, height: h,
                                       width: w, networkWidth: width, classes: classes)
        #expect(TestSupport.relativeError(z.map(Double.init), reference) < 1e-5)
    }

    /// A direct, loop-by-loop ConvNet-3 forward pass on NCHW images.
    static func reference(_ p: [Double], _ x: [Double], count n: Int, channels: Int, height: Int, width: Int,
                          networkWidth: Int, classes: Int) -> [Double] {
        var logits = [Double]()
        var offset = 0
        var blocks: [(w: [Double], b: [Double], g: [Double], beta: [Double], cin: Int, pad: Int)] = []
        var cin = channels
        for d in 0..<3 {
            let wc = networkWidth * cin * 9
            blocks.append((Array(p[offset..<(offset + wc)]), Array(p[(offset + wc)..<(offset + wc + networkWidth)]),
                           Array(p[(offset + wc + networkWidth)..<(offset + wc + 2 * networkWidth)]),
                           Array(p[(offset + wc + 2 * networkWidth)..<(offset + wc + 3 * networkWidth)]),
                           cin, channels == 1 && d == 0 ? 3 : 1))
            offset += wc + 3 * networkWidth
            cin = networkWidth
        }
        for i in 0..<n {
            var image = Array(x[(i * channels * height * width)..<((i + 1) * channels * height * width)])
            var (c, h, w) = (channels, height, width)
            for block in blocks {
                let (oh, ow) = (h + 2 * block.pad - 2, w + 2 * block.pad - 2)
                var out = [Double](repeating: 0, count: networkWidth * (oh / 2) * (ow / 2))
                for o in 0..<networkWidth {
                    var y = [Double](repeating: 0, count: oh * ow)
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var s = block.b[o]
                            for ci in 0..<c {
                                for ky in 0..<3 {
                                    for kx in 0..<3 {
                                        let iy = oy + ky - block.pad, ix = ox + kx - block.pad
                                        if iy >= 0 && iy < h && ix >= 0 && ix < w {
                                            s += block.w[((o * c + ci) * 3 + ky) * 3 + kx] * image[(ci * h + iy) * w + ix]
                                        }
                                    }
                                }
                            }
                            y[oy * ow + ox] = s
                        }
                    }
                    let mean = y.reduce(0, +) / Double(y.count)
                    let variance = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(y.count)
                    let a = y.map { max(0, block.g[o] * ($0 - mean) / (variance + 1e-5).squareRoot() + block.beta[o]) }
                    for py in 0..<(oh / 2) {
                        for px in 0..<(ow / 2) {
                            out[(o * (oh / 2) + py) * (ow / 2) + px] =
                                (a[2 * py * ow + 2 * px] + a[2 * py * ow + 2 * px + 1]
                                 + a[(2 * py + 1) * ow + 2 * px] + a[(2 * py + 1) * ow + 2 * px + 1]) / 4
                        }
                    }
                }
                image = out
                (c, h, w) = (networkWidth, oh / 2, ow / 2)
            }
            let features = image.count
            for k in 0..<classes {
                var s = p[offset + classes * features + k]
                for f in 0..<features { s += p[offset + k * features + f] * image[f] }
                logits.append(s)
            }
        }
        return logits
    }
}
