import DistillImages
import DistillNumerics
import Foundation
import Testing
import _TestSupport

/// Random images: bytes (about half of them zero, like MNIST's background) with
/// scale 1/255, or floats in [-1, 1) with scale 1; labels uniform.
private func randomImages(count: Int, features: Int, classes: Int, bytes: Bool, seed: UInt64) -> LabeledImages {
    var rng = SplitMix64(seed: seed)
    let labels = (0..<count).map { _ in Int32(rng.next() % UInt64(classes)) }
    if bytes {
        let pixels = (0..<(count * features)).map { _ in rng.next() % 2 == 0 ? 0 : UInt8(truncatingIfNeeded: rng.next()) }
        return LabeledImages(pixels: .bytes(pixels), scale: 1 / 255, labels: labels, features: features, classes: classes)
    }
    let pixels = (0..<(count * features)).map { _ in Float(2 * rng.nextUniform() - 1) }
    return LabeledImages(pixels: .floats(pixels), scale: 1, labels: labels, features: features, classes: classes)
}

/// Weights with logits of order 1 whatever the number of features.
private func randomWeights(features: Int, classes: Int, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    let s = 2 / Double(features).squareRoot()
    return (0..<(features * classes)).map { _ in rng.nextNormal() * s }
}

/// max |a - b| / max |b| (0 when both are 0).
private func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    let scale = b.map(abs).max() ?? 0
    let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return scale == 0 ? diff : diff / scale
}

private let kernels: [OuterPass.Kernel] = [.automatic, .portable]

struct Shape: Sendable, CustomTestStringConvertible {
    var count: Int, features: Int, classes: Int
    var testDescription: String { "n=\(count) p=\(features) C=\(classes)" }
}

private let shapes: [Shape] = [
    Shape(count: 1, features: 784, classes: 10),
    Shape(count: 7, features: 5, classes: 3),
    Shape(count: 7, features: 17, classes: 17),
    Shape(count: 1003, features: 784, classes: 10),
    Shape(count: 1003, features: 1, classes: 2),
    Shape(count: 1003, features: 17, classes: 3),
    Shape(count: 1003, features: 5, classes: 17),
    Shape(count: 257, features: 784, classes: 17),
    Shape(count: 300, features: 33, classes: 10),
    Shape(count: 300, features: 47, classes: 21),
]

@Test("fused kernel agrees with the Double reference", arguments: shapes, [true, false])
func agreesWithReference(shape: Shape, bytes: Bool) {
    let data = randomImages(count: shape.count, features: shape.features, classes: shape.classes,
                            bytes: bytes, seed: UInt64(shape.count * 1000 + shape.features * 10 + shape.classes))
    let weights = randomWeights(features: shape.features, classes: shape.classes, seed: 42)
    let reference = referenceOuterPass(data: data, weights: weights)
    for kernel in kernels {
        for threads in [1, 2, 3] {
            let result = OuterPass(data: data, threads: threads, kernel: kernel).evaluate(weights: weights, gradient: true)
            let lossError = abs(result.loss - reference.loss) / abs(reference.loss)
            let gradientError = relativeError(result.gradient, reference.gradient)
            #expect(lossError < 1e-5, "loss \(result.loss) vs \(reference.loss), \(kernel), threads \(threads)")
            #expect(gradientError < 1e-5, "gradient relative error \(gradientError), \(kernel), threads \(threads)")
            #expect(result.correct == reference.correct, "\(kernel), threads \(threads)")
        }
    }
}

@Test("two calls with the same thread count are bit-identical", arguments: [1, 2, 3])
func deterministic(threads: Int) {
    let data = randomImages(count: 2000, features: 784, classes: 10, bytes: true, seed: 7)
    let weights = randomWeights(features: 784, classes: 10, seed: 8)
    let pass = OuterPass(data: data, threads: threads)
    let a = pass.evaluate(weights: weights, gradient: true)
    let b = pass.evaluate(weights: weights, gradient: true)
    #expect(a.loss.bitPattern == b.loss.bitPattern)
    #expect(a.correct == b.correct)
    #expect(a.gradient.map(\.bitPattern) == b.gradient.map(\.bitPattern))
}

@Test("without a gradient: empty gradient, the same loss and count", arguments: [true, false])
func withoutGradient(bytes: Bool) {
    let data = randomImages(count: 1003, features: 784, classes: 10, bytes: bytes, seed: 9)
    let weights = randomWeights(features: 784, classes: 10, seed: 10)
    for kernel in kernels {
        let pass = OuterPass(data: data, threads: 2, kernel: kernel)
        let full = pass.evaluate(weights: weights, gradient: true)
        let lossOnly = pass.evaluate(weights: weights, gradient: false)
        #expect(lossOnly.gradient.isEmpty)
        #expect(lossOnly.loss == full.loss)
        #expect(lossOnly.correct == full.correct)
    }
}

@Test("the automatic kernel is AVX-512 on a CPU that has it, and never on .portable")
func kernelSelection() throws {
    let data = randomImages(count: 3, features: 5, classes: 2, bytes: true, seed: 11)
    #expect(!OuterPass(data: data, threads: 1, kernel: .portable).usesAVX512)
    let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
    let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
    let hasAVX512 = ["avx512f", "avx512dq", "avx512bw", "avx512vl", "fma"].allSatisfy(flags.contains)
    #expect(OuterPass(data: data, threads: 1).usesAVX512 == hasAVX512)
}
