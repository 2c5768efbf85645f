import DistillNumerics
import Testing
@testable import DistillNetworks

/// The augmentation keeps images' shape, changes them, and its scale/rotation
/// sampler reproduces an image exactly under the identity.
struct AugmentationTests {
    @Test func identityResamplingReproducesTheImage() {
        var random = SplitMix64(seed: 1)
        let image = (0..<(2 * 5 * 6)).map { _ in Float(random.nextNormal()) }
        var out = [Float](repeating: 0, count: image.count)
        Augmentation().resample(image, into: &out, at: 0, channels: 2, height: 5, width: 6, matrix: (1, 0, 0, 1))
        #expect(out == image)
    }

    @Test func augmentedBatchesDifferAndStayFinite() {
        var random = SplitMix64(seed: 2)
        let images = (0..<(8 * 28 * 28)).map { _ in Float(random.nextUniform()) }
        var changed = 0
        for _ in 0..<6 {
            var batch = images
            Augmentation().apply(&batch, count: 8, channels: 1, height: 28, width: 28, random: &random)
            #expect(batch.count == images.count && batch.allSatisfy(\.isFinite))
            if batch != images { changed += 1 }
        }
        #expect(changed >= 5)   // a crop by (0, 0) is the only way to leave a whole batch unchanged
    }
}
