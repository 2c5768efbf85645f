import DistillIO
import DistillImages

extension Dataset {
    /// The dataset `images` read by a source, as the models see it (`LabeledImages(_:classes:)`).
    /// `numbered`: the files' labels are the class indices themselves (CIFAR), so
    /// `classValues` is `0..<classes`; else (a PNG tree) the classes are named, not numbered.
    init(_ images: ImageDataset, location: String, format: String, options: DatasetOptions = DatasetOptions(), numbered: Bool = false) {
        let classes = images.classes
        self.init(location: location, format: format,
                  train: LabeledImages(images.train, classes: classes), test: LabeledImages(images.test, classes: classes),
                  classNames: images.classNames, files: images.files, options: options,
                  classValues: numbered ? Array(0..<classes) : nil)
    }
}

extension LabeledImages {
    /// The model's view of decoded images (PNG, CIFAR): 8-bit samples stay bytes
    /// with scale 1/255; 16-bit samples `v` become the floats `v / 65535` with
    /// scale 1, so that both lie in [0, 1] (16-bit precision is kept, not reduced
    /// to 8 bits). Labels come from a reader that checked them against `classes`.
    public init(_ set: ImageSet, classes: Int) {
        let shape = ImageShape(height: set.height, width: set.width, channels: set.channels)
        let labels = set.labels.map { Int32($0) }
        switch set.samples {
        case .uint8(let bytes):
            self.init(pixels: .bytes(bytes), scale: 1 / 255, labels: labels, shape: shape, classes: classes)
        case .uint16(let values):
            self.init(pixels: .floats(values.map { Float($0) / 65535 }), scale: 1, labels: labels, shape: shape, classes: classes)
        }
    }
}
