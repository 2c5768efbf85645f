import DistillIO
import DistillImages

/// A folder of MNIST-named IDX files (`DatasetFolder`): train and test images and
/// labels, raw or gzip. Bytes stay bytes with scale 1/255 (pixels in [0, 1]);
/// other pixel types are taken as they are. Rank-4 images (count x height x width
/// x channels) are colour images. The classes are the distinct training label
/// values, in increasing order; they are named by the lines of `class-names.txt`
/// when the folder holds one (`distill convert` writes it), else by their values.
public struct IDXFolderSource: DatasetSource {
    public static let format = "IDX folder"
    public static let layout = "MNIST-named IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or .gz"

    public let path: String

    public init(path: String) { self.path = path }

    /// A folder holding a `train-images` IDX file under one of its accepted names.
    public static func recognises(_ path: String) -> Bool {
        DatasetFolder.holdsTrainingImages(path)
    }

    public func load() throws -> Dataset {
        let folder = try DatasetFolder.load(path)
        let train = LabeledImages(folder.train, classIndices: folder.classIndices(of: folder.train), classes: folder.classes)
        let test = LabeledImages(folder.test, classIndices: folder.classIndices(of: folder.test), classes: folder.classes)
        var files = [folder.train.imagesPath, folder.train.labelsPath, folder.test.imagesPath, folder.test.labelsPath]
        let namesPath = path.hasSuffix("/") ? path + ClassNamesFile.idxFolderName : path + "/" + ClassNamesFile.idxFolderName
        let names = try ClassNamesFile.read(namesPath, classes: folder.classes)
        if names != nil { files.append(namesPath) }
        // Class k is named by class-names.txt, else by its label value in the files (labels need not be 0..C-1).
        return Dataset(location: path, format: Self.format, train: train, test: test,
                       classNames: names ?? folder.classValues.map { String($0) }, files: files,
                       classValues: folder.classValues.map { Int($0) })
    }
}

extension LabeledImages {
    /// The model's view of a loaded IDX split: bytes stay bytes with scale 1/255
    /// (pixels in [0, 1]); other pixel types are taken as they are. `classIndices`
    /// are the split's labels mapped to `0..<classes` (`DatasetFolder.classIndices(of:)`).
    public init(_ split: ImageSplit, classIndices: [Int32], classes: Int) {
        let scale: Float
        switch split.pixels {
        case .bytes: scale = 1 / 255
        case .floats: scale = 1
        }
        self.init(pixels: split.pixels, scale: scale, labels: classIndices,
                  shape: ImageShape(height: split.height, width: split.width, channels: split.channels), classes: classes)
    }

    /// A split whose stored labels are already class indices in `0..<classes`
    /// (a folder whose training labels are 0..C-1).
    public init(_ split: ImageSplit, classes: Int) {
        self.init(split, classIndices: split.labels, classes: classes)
    }
}
