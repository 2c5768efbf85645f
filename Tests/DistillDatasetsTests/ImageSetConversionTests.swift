import DistillDatasets
import DistillImages
import DistillIO
import Testing

@Suite struct ImageSetConversionTests {
    /// 8-bit samples stay bytes with scale 1/255; 16-bit samples become v / 65535 as
    /// floats with scale 1 (so both are in [0, 1], and 16-bit precision is kept).
    @Test func eightAndSixteenBitSamplesBecomeValuesInTheUnitRange() throws {
        let bytes = try #require(ImageSet(samples: .uint8([0, 128, 255, 7, 8, 9]), labels: [0, 1], height: 1, width: 1, channels: 3))
        let eight = LabeledImages(bytes, classes: 2)
        #expect(eight.pixels == .bytes([0, 128, 255, 7, 8, 9]) && eight.scale == 1 / 255)
        #expect(eight.shape == ImageShape(height: 1, width: 1, channels: 3) && eight.labels == [0, 1])

        let words = try #require(ImageSet(samples: .uint16([0, 1, 65535, 32768]), labels: [1, 0], height: 1, width: 2, channels: 1))
        let sixteen = LabeledImages(words, classes: 2)
        #expect(sixteen.pixels == .floats([0, Float(1) / 65535, 1, Float(32768) / 65535]) && sixteen.scale == 1)
        #expect(sixteen.image(0) == [0, Double(Float(1) / 65535)])
    }

    /// Options a format does not take are one-line errors naming the folder, not ignored.
    @Test func optionsAFormatDoesNotTakeAreRejected() throws {
        #expect(throws: DatasetOptionsError.self) { try IDXFolderSource.check(DatasetOptions(testFraction: 0.1), path: "d") }
        #expect(throws: DatasetOptionsError.self) { try PNGTrainTestSource.check(DatasetOptions(labelSet: .coarse), path: "d") }
        #expect(throws: DatasetOptionsError.self) { try PNGClassTreeSource.check(DatasetOptions(), path: "d") }
        #expect(throws: DatasetOptionsError.self) { try CIFAR10Source.check(DatasetOptions(labelSet: .fine), path: "d") }
        try CIFAR100Source.check(DatasetOptions(labelSet: .coarse), path: "d")
        try PNGClassTreeSource.check(DatasetOptions(testFraction: 0.5), path: "d")
        do {
            try CIFAR10Source.check(DatasetOptions(labelSet: .fine), path: "data/c10")
        } catch {
            #expect(error.description == "data/c10: --label-set fine is for CIFAR-100 files; expected no --label-set, found a CIFAR-10 binary")
        }
    }
}
