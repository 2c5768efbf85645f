import DistillImages
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One split (train or test) of a dataset folder: images and their labels.
public struct ImageSplit: Sendable {
    /// `count * height * width * channels` pixels, each image HWC.
    public let pixels: ImagePixels
    /// One label per image, as stored in the file (a value of the folder's
    /// `classValues`; `DatasetFolder.classIndices(of:)` maps them to `0..<classes`).
    public let labels: [Int32]
    /// The number of images.
    public let count: Int
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// Values per pixel: 1 for a rank-3 images file, the last dimension of a rank-4 one.
    public var channels: Int = 1
    /// The images file that was read.
    public let imagesPath: String
    /// The labels file that was read.
    public let labelsPath: String

    /// How many images each class `0..<classes` has; labels >= `classes` are not counted.
    public func classCounts(classes: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: max(classes, 0))
        for label in labels where Int(label) < counts.count { counts[Int(label)] += 1 }
        return counts
    }
}

/// A dataset in a folder of MNIST-named IDX files:
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
/// `t10k-labels-idx1-ubyte`, each raw or gzip-compressed (optionally named `.gz`),
/// also with a dot before `idx` (`train-images.idx3-ubyte`).
///
/// Images are rank 3 (count x height x width) or, for colour, rank 4
/// (count x height x width x channels, as `distill convert` writes them) of any
/// IDX type; labels are rank 1 of an integer type, non-negative. Any image size.
/// The classes are the distinct label values of the training split, in increasing
/// order (from 2 to `maximumClasses` of them; labels need not be 0..C-1); every
/// test label must be one of them.
public struct DatasetFolder: Sendable {
    /// The folder the dataset was loaded from.
    public let path: String
    /// The training split.
    public let train: ImageSplit
    /// The test split; its images have the size of the training images.
    public let test: ImageSplit
    /// The distinct label values of the training split, increasing: class `k`
    /// is the label value `classValues[k]`.
    public let classValues: [Int32]
    /// The number of classes: the distinct label values of the training split.
    public var classes: Int { classValues.count }

    /// The class index (`0..<classes`) of each of `split`'s labels: the position
    /// of its value in `classValues`. `load` guarantees every label has one.
    public func classIndices(of split: ImageSplit) -> [Int32] {
        var index: [Int32: Int32] = [:]
        for (k, value) in classValues.enumerated() { index[value] = Int32(k) }
        return split.labels.map { index[$0] ?? 0 }
    }

    /// The largest number of classes accepted: a stray huge label would otherwise make
    /// every per-class array (weights, counts) enormous.
    public static let maximumClasses = 1 << 16

    /// Loads and validates the dataset in the folder at `path`.
    public static func load(_ path: String) throws(DatasetError) -> DatasetFolder {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw DatasetError(path: path, kind: .folderNotFound) }
            throw DatasetError(path: path, kind: .unreadableFolder(idxErrnoText()))
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw DatasetError(path: path, kind: .notAFolder) }

        let train = try loadSplit(folder: path, prefix: "train")
        let test = try loadSplit(folder: path, prefix: "t10k")
        let grey = train.channels == 1 && test.channels == 1
        guard train.height == test.height, train.width == test.width, train.channels == test.channels else {
            throw DatasetError(path: test.imagesPath, kind: .imageSizeMismatch(
                train: [train.height, train.width] + (grey ? [] : [train.channels]),
                test: [test.height, test.width] + (grey ? [] : [test.channels]),
                trainPath: train.imagesPath))
        }
        let classValues = Array(Set(train.labels)).sorted()
        guard classValues.count >= 2 else {
            throw DatasetError(path: train.labelsPath, kind: .tooFewClasses(classValues.count))
        }
        guard classValues.count <= maximumClasses else {
            throw DatasetError(path: train.labelsPath, kind: .tooManyClasses(classValues.count, limit: maximumClasses))
        }
        // A test label no training image carries has no class to be scored against.
        let known = Set(classValues)
        if let stray = test.labels.first(where: { !known.contains($0) }) {
            throw DatasetError(path: test.labelsPath, kind: .testLabelNotInTraining(
                value: Int(stray), count: test.labels.lazy.filter { $0 == stray }.count, trainPath: train.labelsPath))
        }
        return DatasetFolder(path: path, train: train, test: test, classValues: classValues)
    }

    private static func loadSplit(folder: String, prefix: String) throws(DatasetError) -> ImageSplit {
        let imagesPath = try locate(folder: folder, stem: prefix + "-images", format: "idx3-ubyte")
        let labelsPath = try locate(folder: folder, stem: prefix + "-labels", format: "idx1-ubyte")
        // The ranks are checked as the headers are read, before any dimension.
        let images = try readIDX(imagesPath, expecting: imagesRank)
        let pixels = try imagePixels(of: images, path: imagesPath)

        let labelArray = try readIDX(labelsPath, expecting: labelsRank)
        let labels = try integerLabels(of: labelArray, path: labelsPath)
        guard labels.count == images.shape[0] else {
            throw DatasetError(path: labelsPath, kind: .countMismatch(
                images: images.shape[0], labels: labels.count, imagesPath: imagesPath))
        }
        return ImageSplit(pixels: pixels, labels: labels, count: images.shape[0],
                          height: images.shape[1], width: images.shape[2],
                          channels: images.shape.count == 4 ? images.shape[3] : 1,
                          imagesPath: imagesPath, labelsPath: labelsPath)
    }

    /// Whether `folder` holds a training images file under one of the accepted names.
    public static func holdsTrainingImages(_ folder: String) -> Bool {
        (try? locate(folder: folder, stem: "train-images", format: "idx3-ubyte")) != nil
    }

    /// The first of the accepted names for `stem`/`format` that exists in `folder`.
    private static func locate(folder: String, stem: String, format: String) throws(DatasetError) -> String {
        let names = ["\(stem)-\(format)", "\(stem)-\(format).gz", "\(stem).\(format)", "\(stem).\(format).gz"]
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        var info = stat()
        // lstat: a name that exists but cannot be followed (a symbolic link loop, a
        // dangling link) is returned, so that reading it reports why.
        for name in names where lstat(base + name, &info) == 0 {
            return base + name
        }
        throw DatasetError(path: folder, kind: .missingFile(tried: names))
    }

    /// The ranks of an images file: grey or colour images.
    static let imagesRank = IDXExpectedRank([3, 4], "rank 3 (count x height x width) or 4 (count x height x width x channels)")
    /// The rank of a labels file: one label per image.
    static let labelsRank = IDXExpectedRank([1], "rank 1 (labels)")

    private static func readIDX(_ path: String, expecting ranks: IDXExpectedRank) throws(DatasetError) -> IDXArray {
        do {
            return try IDX.read(contentsOf: path, expecting: ranks)
        } catch {
            throw DatasetError(path: path, kind: .file(error))
        }
    }

    /// Bytes stay bytes; every other type becomes Float and must be finite.
    private static func imagePixels(of images: IDXArray, path: String) throws(DatasetError) -> ImagePixels {
        if case .ubyte(let bytes) = images.elements { return .bytes(bytes) }
        let floats = images.floats()
        if let index = floats.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(path: path, kind: .file(IDXError(path: path, kind: .nonFiniteValue(index: index))))
        }
        return .floats(floats)
    }

    /// Integer labels as Int32, all non-negative.
    private static func integerLabels(of array: IDXArray, path: String) throws(DatasetError) -> [Int32] {
        let labels: [Int32]
        switch array.elements {
        case .ubyte(let v): labels = v.map(Int32.init)
        case .byte(let v): labels = v.map(Int32.init)
        case .int16(let v): labels = v.map(Int32.init)
        case .int32(let v): labels = v
        case .float32, .float64: throw DatasetError(path: path, kind: .nonIntegerLabels(array.dataType))
        }
        if let index = labels.firstIndex(where: { $0 < 0 }) {
            throw DatasetError(path: path, kind: .negativeLabel(index: index, value: Int(labels[index])))
        }
        return labels
    }
}
