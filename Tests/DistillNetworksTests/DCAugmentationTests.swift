import DistillNumerics
import Foundation
import Testing
@testable import DistillNetworks

/// DC's per-image augmentation: each operation on tiny images against values
/// worked out by hand (or by scipy itself for rotations by angles that are not
/// multiples of 90°), the per-image choice with the batch's fills, determinism,
/// and how the protocol records it in JSON.
struct DCAugmentationTests {
    /// 1...n as Float.
    static func ramp(_ n: Int) -> [Float] { (1...n).map { Float($0) } }

    @Test func cropTakesTheWindowOfTheImagePaddedWithEachChannelsFill() {
        // Two 3x3 channels, 1..9 and 11..19, padded by 1 with 0.5 and -1; the window at
        // row 0, column 2 of the 5x5 padded image shows image(y - 1, x + 1).
        let image = Self.ramp(9) + Self.ramp(9).map { $0 + 10 }
        let out = DCAugmentation.crop(image, channels: 2, height: 3, width: 3, pad: 1, row: 0, column: 2, fill: [0.5, -1])
        #expect(out == [0.5, 0.5, 0.5, 2, 3, 0.5, 5, 6, 0.5,
                        -1, -1, -1, 12, 13, -1, 15, 16, -1])
        // The window at (pad, pad) is the image itself.
        #expect(DCAugmentation.crop(image, channels: 2, height: 3, width: 3, pad: 1, row: 1, column: 1, fill: [0, 0]) == image)
    }

    @Test func scaleIsNearestNeighbourCentredAndCroppedBack() {
        let image = Self.ramp(16)   // 4x4, value 4y + x + 1
        // Up to 5x5: source index floor(i · 4/5) = 0, 0, 1, 2, 3; the 5x5 square's
        // centred 4x4 window starts at (5 - 4) / 2 = 0.
        #expect(DCAugmentation.scale(image, channels: 1, height: 4, width: 4, toHeight: 5, toWidth: 5)
                == [1, 1, 2, 3, 1, 1, 2, 3, 5, 5, 6, 7, 9, 9, 10, 11])
        // Down to 3x3: source index floor(i · 4/3) = 0, 1, 2, placed at (4 - 3) / 2 = 0
        // in a zero 4x4 square: the last row and column are 0.
        #expect(DCAugmentation.scale(image, channels: 1, height: 4, width: 4, toHeight: 3, toWidth: 3)
                == [1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0, 0])
        // 3 rows and 5 columns: a 5x5 square, the 3 rows placed from row 1, the
        // window from (0, 0): a zero row, then rows 0, 1, 2 with columns 0, 0, 1, 2.
        #expect(DCAugmentation.scale(image, channels: 1, height: 4, width: 4, toHeight: 3, toWidth: 5)
                == [0, 0, 0, 0, 1, 1, 2, 3, 5, 5, 6, 7, 9, 9, 10, 11])
        // The same size: the image.
        #expect(DCAugmentation.scale(image, channels: 1, height: 4, width: 4, toHeight: 4, toWidth: 4) == image)
    }

    @Test func rotationByMultiplesOf90DegreesMovesPixelsExactly() {
        let image = Self.ramp(9)   // [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
        func rotated(_ degrees: Int) -> [Float] {
            DCAugmentation.rotate(image, channels: 1, height: 3, width: 3, degrees: degrees, fill: 100)
        }
        func close(_ a: [Float], _ b: [Float]) -> Bool { zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 } }
        // Counter-clockwise as displayed, as scipy and numpy.rot90.
        #expect(close(rotated(90), [3, 6, 9, 2, 5, 8, 1, 4, 7]))
        #expect(close(rotated(-90), [7, 4, 1, 8, 5, 2, 9, 6, 3]))
        #expect(close(rotated(180), [9, 8, 7, 6, 5, 4, 3, 2, 1]))
        #expect(close(rotated(0), image))
        // 0° on a random two-channel 6x7 image: the interpolating spline at the knots.
        var random = SplitMix64(seed: 4)
        let noise = (0..<(2 * 6 * 7)).map { _ in Float(random.nextNormal()) }
        #expect(close(DCAugmentation.rotate(noise, channels: 2, height: 6, width: 7, degrees: 0, fill: 9), noise))
    }

    /// scipy.ndimage.rotate(image, angle, cval=0.25), centre 5x5 window, printed by
    /// tools/dc-augmentation-reference.py (scipy 1.17.1).
    @Test(arguments: [
        (30, [0.250000000, 0.250000000, 0.293599176, 0.565017737, 0.250000000, -0.527797182, -0.348863188, 0.010039451,
              0.216360839, 0.250000000, 0.821095928, -0.989607993, -0.360000000, -0.136456851, 0.206438560, 0.250000000,
              0.316229806, 0.240591136, -0.706173388, -0.125503056, 0.250000000, 0.753692918, 1.048345223, 0.250000000,
              0.250000000]),
        (-17, [0.250000000, 0.250000000, 0.250000000, 0.250000000, 0.250000000, 0.250000000, 0.999233589, -0.514594500,
               -0.081084316, 0.304135522, 0.250000000, 0.396779722, -0.994400627, -0.063281705, 0.270844731, 0.250000000,
               1.073302770, -0.206982234, -0.207181707, 0.273187780, 0.250000000, 0.987603285, -0.576642761, -0.271037165,
               0.225613438]),
        (44, [0.250000000, 0.250000000, 0.435479933, 0.250000000, 0.250000000, 0.250000000, -0.139219672, 0.038050012,
              0.202302426, 0.250000000, -0.124147745, -0.919029726, -0.360000000, -0.286381855, 0.047767564, 0.250000000,
              0.049308257, 0.353835810, -0.619123046, 0.250000000, 0.250000000, 0.250000000, 1.119244897, 0.250000000,
              0.250000000]),
    ])
    func rotationAgreesWithScipy(degrees: Int, expected: [Double]) {
        let image = (0..<25).map { Float((Double($0) * 0.37).truncatingRemainder(dividingBy: 2) - 0.8) }
        let out = DCAugmentation.rotate(image, channels: 1, height: 5, width: 5, degrees: degrees, fill: 0.25)
        for (i, (a, b)) in zip(out, expected).enumerated() {
            #expect(abs(Double(a) - b) < 1e-6, "pixel \(i): \(a) vs scipy's \(b)")
        }
    }

    /// Constant images 0, 1, ..., 29: the batch's mean is 14.5. Each image gets its own
    /// operation (all three occur), a crop or rotation fills with 14.5 (not the
    /// image's own value), a scale with 0; the same seed gives the same images.
    @Test func eachImageGetsItsOwnOperationWithTheBatchsFills() {
        let count = 30, side = 8, size = side * side
        let batch = (0..<count).flatMap { i in [Float](repeating: Float(i), count: size) }
        var random = SplitMix64(seed: 11)
        var out = batch
        let kinds = DCAugmentation().apply(&out, count: count, channels: 1, height: side, width: side, random: &random)
        #expect(Set(kinds.map { "\($0)" }).count == 3)
        var filled = 0
        for i in 0..<count {
            let pixels = out[(i * size)..<((i + 1) * size)]
            let own = Float(i)
            let fill: Float = kinds[i] == .scale ? 0 : 14.5
            #expect(pixels.allSatisfy { abs($0 - own) < 1e-4 || abs($0 - fill) < 1e-4 }, "image \(i), \(kinds[i])")
            if kinds[i] != .scale && i != 14 && pixels.contains(where: { abs($0 - 14.5) < 1e-4 }) { filled += 1 }
        }
        #expect(filled >= 5)
        var again = batch
        var sameRandom = SplitMix64(seed: 11)
        #expect(DCAugmentation().apply(&again, count: count, channels: 1, height: side, width: side, random: &sameRandom) == kinds)
        #expect(again == out)
        var other = batch
        var otherRandom = SplitMix64(seed: 12)
        DCAugmentation().apply(&other, count: count, channels: 1, height: side, width: side, random: &otherRandom)
        #expect(other != out)
    }

    /// On 28x28 noise images every augmented image stays finite and nearly all change
    /// (a crop at (4, 4), a scale by 28/28 or a rotation by 0° leave one unchanged).
    @Test func augmentedMNISTSizedBatchesStayFiniteAndChange() {
        var random = SplitMix64(seed: 3)
        let images = (0..<(16 * 28 * 28)).map { _ in Float(random.nextNormal()) }
        var batch = images
        DCAugmentation().apply(&batch, count: 16, channels: 1, height: 28, width: 28, random: &random)
        #expect(batch.count == images.count && batch.allSatisfy(\.isFinite))
        let changed = (0..<16).filter { i in batch[(i * 784)..<((i + 1) * 784)] != images[(i * 784)..<((i + 1) * 784)] }
        #expect(changed.count >= 12)
    }

    @Test func theProtocolRecordsTheKindAndEveryParameter() throws {
        let settings = TrainingProtocol.dc(augmentation: .dc(DCAugmentation()))
        #expect(settings.epochs == 1000)
        let data = try JSONEncoder().encode(settings)
        let object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let augmentation = try #require(object["augmentation"] as? [String: Any])
        #expect(augmentation["kind"] as? String == "dc")
        #expect(augmentation["crop_pixels"] as? Int == 4)
        #expect(augmentation["scale"] as? Double == 0.2)
        #expect(augmentation["rotation_degrees"] as? Int == 45)
        for key in ["choice", "crop_fill", "scale_interpolation", "scale_fill", "rotation_interpolation", "rotation_fill"] {
            #expect(augmentation[key] != nil, "no \(key)")
        }
        #expect(try JSONDecoder().decode(TrainingProtocol.self, from: data) == settings)

        // DSA's records its kind too, and a result written before kinds existed reads as DSA's.
        let dsa = try JSONEncoder().encode(TrainingProtocol.dc(augment: true))
        let dsaObject = try #require(JSONSerialization.jsonObject(with: dsa) as? [String: Any])
        let dsaAugmentation = try #require(dsaObject["augmentation"] as? [String: Any])
        #expect(dsaAugmentation["kind"] as? String == "dsa" && dsaAugmentation["crop_ratio"] as? Double == 0.125)
        let old = #"{"crop_ratio": 0.125, "scale_ratio": 1.2, "rotation_degrees": 15}"#
        #expect(try JSONDecoder().decode(TrainingAugmentation.self, from: Data(old.utf8)) == .dsa(Augmentation()))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(TrainingAugmentation.self, from: Data(#"{"kind": "flip"}"#.utf8))
        }
    }
}
