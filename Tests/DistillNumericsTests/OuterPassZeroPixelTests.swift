import DistillImages
import DistillNumerics
import Foundation
import Testing
import _TestSupport

// The AVX-512 outer pass leaves out byte images' all-zero 16-pixel chunks (OuterPass.ZeroPixels):
// these tests hold it to the same bits as the dense pass, and to the same problem given as
// Float32 pixels (always dense) and the Double reference within a tolerance.

/// Byte images made to exercise the sparse path: row kinds by row number (all zero; dense
/// random bytes; zero runs on and off 16-pixel boundaries; a single nonzero pixel, often in
/// the tail chunk; MNIST-like: about half the chunks zero), labels uniform. `mostlyDense`:
/// every row dense but rows 8k and 8k + 1 MNIST-like, so that blocks of rows are dense
/// (the dense gradient) while some pairs of rows are not (the sparse logits).
private func patchyImages(count: Int, features p: Int, classes: Int, seed: UInt64, mostlyDense: Bool = false) -> LabeledImages {
    var rng = SplitMix64(seed: seed)
    var pixels = [UInt8](repeating: 0, count: count * p)
    for i in 0..<count {
        let row = i * p
        func random() -> UInt8 { UInt8(truncatingIfNeeded: rng.next() % 255 + 1) }
        switch mostlyDense ? (i % 8 < 2 ? 4 : 1) : i % 6 {
        case 0: break                                                   // all zero
        case 1: for k in 0..<p { pixels[row + k] = random() }           // dense
        case 2:                                                         // runs of zeros, any alignment
            var k = 0
            while k < p {
                let run = Int(rng.next() % 40) + 1
                let nonzero = rng.next() % 2 == 0
                for t in k..<min(p, k + run) where nonzero { pixels[row + t] = random() }
                k += run
            }
        case 3: pixels[row + (i % 12 == 3 ? p - 1 : Int(rng.next() % UInt64(p)))] = random()   // one pixel
        default:                                                        // whole chunks zero or not
            for q in stride(from: 0, to: p, by: 16) where rng.next() % 2 == 0 {
                for k in q..<min(p, q + 16) where rng.next() % 3 != 0 { pixels[row + k] = random() }
            }
        }
    }
    let labels = (0..<count).map { _ in Int32(rng.next() % UInt64(classes)) }
    return LabeledImages(pixels: .bytes(pixels), scale: 1 / 255, labels: labels, features: p, classes: classes)
}

private func weights(features: Int, classes: Int, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    let s = 2 / Double(features).squareRoot()
    return (0..<(features * classes)).map { _ in rng.nextNormal() * s }
}

// OuterPassTests.swift's `Shape`s. p = 50: a 2-pixel tail chunk; 784: MNIST's; 1100: 69
// chunks, two 64-bit mask words and a 12-pixel tail. C = 13: a second class group. Counts: partial blocks of 128 rows, odd pairs.
private let zeroPixelShapes: [Shape] = [
    Shape(count: 301, features: 50, classes: 10),
    Shape(count: 300, features: 784, classes: 10),
    Shape(count: 131, features: 1100, classes: 13),
    Shape(count: 5, features: 17, classes: 3),
]

@Test("skipping zero chunks gives the dense pass's bits", arguments: zeroPixelShapes, [(1, false), (2, false), (1, true)])
func skippedIsDenseBitForBit(shape: Shape, threadsAndMix: (Int, Bool)) {
    let (threads, mostlyDense) = threadsAndMix
    let data = patchyImages(count: shape.count, features: shape.features, classes: shape.classes, seed: UInt64(shape.features),
                            mostlyDense: mostlyDense)
    let w = weights(features: shape.features, classes: shape.classes, seed: 3)
    let dense = OuterPass(data: data, threads: threads, kernel: .automatic, zeroPixels: .dense)
    for zeroPixels in [OuterPass.ZeroPixels.skipped, .automatic] {
        let pass = OuterPass(data: data, threads: threads, kernel: .automatic, zeroPixels: zeroPixels)
        for wantGradient in [true, false] {
            let a = pass.evaluate(weights: w, gradient: wantGradient)
            let b = dense.evaluate(weights: w, gradient: wantGradient)
            #expect(a.loss.bitPattern == b.loss.bitPattern, "\(zeroPixels), gradient \(wantGradient): loss \(a.loss) vs \(b.loss)")
            #expect(a.correct == b.correct, "\(zeroPixels)")
            let differing = zip(a.gradient, b.gradient).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(a.gradient.count == b.gradient.count && differing == 0, "\(zeroPixels): \(differing) gradient entries differ")
        }
    }
}

@Test("skipping zero chunks agrees with Float32 pixels and the Double reference", arguments: zeroPixelShapes)
func skippedAgreesWithFloats(shape: Shape) {
    let data = patchyImages(count: shape.count, features: shape.features, classes: shape.classes, seed: UInt64(shape.features) + 1)
    guard case .bytes(let bytes) = data.pixels else { Issue.record("expected bytes"); return }
    let floats = LabeledImages(pixels: .floats(bytes.map { Float($0) / 255 }), scale: 1, labels: data.labels,
                               features: data.features, classes: data.classes)
    let w = weights(features: shape.features, classes: shape.classes, seed: 4)
    let reference = referenceOuterPass(data: data, weights: w)
    let skipped = OuterPass(data: data, threads: 2, kernel: .automatic, zeroPixels: .skipped).evaluate(weights: w, gradient: true)
    for other in [OuterPass(data: floats, threads: 2).evaluate(weights: w, gradient: true),
                  OuterPass(data: data, threads: 2, kernel: .portable).evaluate(weights: w, gradient: true), reference] {
        #expect(abs(skipped.loss - other.loss) <= 1e-5 * abs(other.loss), "loss \(skipped.loss) vs \(other.loss)")
        #expect(skipped.correct == other.correct)
        let scale = other.gradient.map(abs).max() ?? 0
        let error = zip(skipped.gradient, other.gradient).map { abs($0 - $1) }.max() ?? 0
        #expect(error <= 1e-5 * scale, "gradient error \(error) of \(scale)")
    }
}

/// The multiply-adds `skipped` leaves to do, counted directly from the pixels: per
/// thread's rows, per block of 128, each pair of rows (an odd last row alone) over
/// the union of the 16-pixel chunks nonzero in either, for each of its rows and
/// classes; and the gradient per 32-pixel tile over the block's rows nonzero in it.
private func directSkippedMultiplyAdds(_ data: LabeledImages, threads: Int, gradient: Bool) -> Double {
    guard case .bytes(let bytes) = data.pixels else { return 0 }
    let p = data.features, c = Double(data.classes)
    func nonzero(_ row: Int, _ pixels: Range<Int>) -> Bool { pixels.contains { bytes[row * p + $0] != 0 } }
    func chunkPixels(_ q: Int) -> Range<Int> { 16 * q..<min(p, 16 * q + 16) }
    let chunks = (p + 15) / 16
    var total = 0.0
    for part in Parallel.chunks(of: data.count, parts: threads) {
        for blockStart in stride(from: part.lowerBound, to: part.upperBound, by: 128) {
            let block = blockStart..<min(part.upperBound, blockStart + 128)
            for first in stride(from: block.lowerBound, to: block.upperBound, by: 2) {
                let rows = first + 1 < block.upperBound ? [first, first + 1] : [first]
                let union = (0..<chunks).filter { q in rows.contains { nonzero($0, chunkPixels(q)) } }
                total += Double(rows.count) * Double(union.map { chunkPixels($0).count }.reduce(0, +)) * c
            }
            guard gradient else { continue }
            for k in stride(from: 0, to: p, by: 32) {
                let tile = k..<min(p, k + 32)
                total += Double(block.filter { nonzero($0, tile) }.count * tile.count) * c
            }
        }
    }
    return total
}

@Test("the pass counts the multiply-adds it does: the direct count from the pixels when skipping, the dense count when dense",
      arguments: zeroPixelShapes, [1, 2])
func multiplyAddsAreCountedFromTheChunks(shape: Shape, threads: Int) {
    let data = patchyImages(count: shape.count, features: shape.features, classes: shape.classes, seed: 41)
    let w = weights(features: shape.features, classes: shape.classes, seed: 42)
    for gradient in [true, false] {
        let dense = OuterPass(data: data, threads: threads, kernel: .automatic, zeroPixels: .dense)
        let skipped = OuterPass(data: data, threads: threads, kernel: .automatic, zeroPixels: .skipped)
        let automatic = OuterPass(data: data, threads: threads)
        let denseCount = Double(shape.count * shape.features * shape.classes) * (gradient ? 2 : 1)
        #expect(dense.denseMultiplyAdds(gradient: gradient) == denseCount)
        #expect(dense.multiplyAdds(weights: w, gradient: gradient) == denseCount)
        let portable = OuterPass(data: data, threads: threads, kernel: .portable)
        #expect(portable.multiplyAdds(weights: w, gradient: gradient) == denseCount)
        let expected = skipped.usesAVX512 ? directSkippedMultiplyAdds(data, threads: threads, gradient: gradient) : denseCount
        #expect(skipped.multiplyAdds(weights: w, gradient: gradient) == expected, "\(shape) threads \(threads) gradient \(gradient)")
        #expect(!skipped.usesAVX512 || expected < denseCount)
        // Automatic takes the sparse or the dense loops pair by pair and block by block.
        let chosen = automatic.multiplyAdds(weights: w, gradient: gradient)
        #expect(chosen >= expected && chosen <= denseCount)
        // Counting changes nothing in the results.
        let counted = skipped.evaluate(weights: w, gradient: gradient)
        #expect(counted.loss == dense.evaluate(weights: w, gradient: gradient).loss)
    }
}
