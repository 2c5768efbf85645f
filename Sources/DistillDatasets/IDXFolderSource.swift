import DistillIO
import DistillImages

/// A folder of MNIST-named IDX files (`DatasetFolder`): train and test images and
/// labels, raw or gzip. Bytes stay bytes with scale 1/255 (pixels in [0, 1]);
/// other pixel types are taken as they are. Rank-4 images (count x height x width
/// x channels) are colour images. Class names are the lines of `class-names.txt`
/// when the folder holds one (`distill convert` writes it), else the class indices.
public struct IDXFolderSource: DatasetSource {
    public static let format = "IDX folder"
    public static let layout = "a folder of MNIST-named IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz)"

    public let path: String

    public init(path: String) { self.path = path }

    /// A folder holding a `train-images` IDX file under one of its accepted names.
    public static func recognises(_ path: String) -> Bool {
        DatasetFolder.holdsTrainingImages(path)
    }

    public func load() throws -> Dataset {
        let folder = try DatasetFolder.load(path)
        let train = LabeledImages(folder.train, classes: folder.classes)
        let test = LabeledImages(folder.test, classes: folder.classes)
        var files = [folder.train.imagesPath, folder.train.labelsPath, folder.test.imagesPath, folder.test.labelsPath]
        let namesPath = path.hasSuffix("/") ? path + ClassNamesFile.idxFolderName : path + "/" + ClassNamesFile.idxFolderName
        let names = try ClassNamesFile.read(namesPath, classes: folder.classes)
        if names != nil { files.append(namesPath) }
        return Dataset(location: path, format: Self.format, train: train, test: test,
                       classNames: names ?? (0..<folder.classes).map(String.init), files: files)
    }
}

extension LabeledImages {
    /// The model's view of a loaded IDX split: bytes stay bytes with scale 1/255
    /// (pixels in [0, 1]); other pixel types are taken as they are.
    public init(_ split: ImageSplit, classes: Int) {
        let scale: Float
        switch split.pixels {
        case .bytes: scale = 1 / 255
        case .floats: scale = 1
        }
        self.init(pixels: split.pixels, scale: scale, labels: split.labels,
                  shape: ImageShape(height: split.height, width: split.width, channels: split.channels), classes: classes)
    }
}
