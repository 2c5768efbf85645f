import DistillIO
import DistillNumerics

extension LabeledImages {
    /// The model's view of a loaded split: bytes stay bytes with scale 1/255
    /// (pixels in [0, 1]); other pixel types are taken as they are.
    public init(_ split: ImageSplit, classes: Int) {
        let pixels: LabeledImages.Pixels
        let scale: Float
        switch split.pixels {
        case .bytes(let b): pixels = .bytes(b); scale = 1 / 255
        case .floats(let f): pixels = .floats(f); scale = 1
        }
        self.init(pixels: pixels, scale: scale, labels: split.labels,
                  features: split.height * split.width, classes: classes)
    }
}
