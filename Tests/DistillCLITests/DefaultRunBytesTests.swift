import DistillIO
import Foundation
import Testing
import _TestSupport

/// The default run on the shipped MNIST writes the same images, bit for bit, as
/// before the architecture change (issue 10): the refactor moved code, not numbers.
@Suite struct DefaultRunBytesTests {
    /// `sha256sum distilled-images-idx3-float` of `distill run` (every option at its
    /// default) at commit 9872d51, the commit the change started from.
    static let imagesSHA256 = "e1bf2486001e43522d90ac880eb6a977f017f83ca6b7f572ef254170ecd64ca1"

    @Test func theDefaultRunWritesTheSameImagesAsBeforeTheRefactor() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = TestSupport.mnistFolder
        let out = scratch.path + "/out"
        let result = try runDistill(["--data", data, "--out", out, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try SHA256.hex(contentsOf: out + "/distilled-images-idx3-float") == Self.imagesSHA256)
        // README's picture of the default run is the grid it draws (one row of classes, no class gaps).
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/distilled.png"))
                == Data(contentsOf: URL(fileURLWithPath: TestSupport.packageRoot() + "/docs/distilled-1-per-class.png")))
    }
}
