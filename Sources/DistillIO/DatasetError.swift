/// Why a dataset folder was rejected: the folder or file concerned and what was
/// expected versus found.
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// Nothing exists at the folder path.
        case folderNotFound
        /// The folder path names a file.
        case notAFolder
        /// The folder cannot be examined; carries the system's error text.
        case unreadableFolder(String)
        /// None of the accepted names for a file exists in the folder; carries the names tried.
        case missingFile(tried: [String])
        /// The file is unreadable, not valid IDX or of the wrong rank (images: 3
        /// or 4, labels: 1), or holds a NaN or infinite pixel.
        case file(IDXError)
        /// A labels file of a non-integer type.
        case nonIntegerLabels(IDXDataType)
        /// A label below 0, at this index.
        case negativeLabel(index: Int, value: Int)
        /// The labels file holds a different number of labels than the images file has images.
        case countMismatch(images: Int, labels: Int, imagesPath: String)
        /// The test images are not the size of the training images.
        case imageSizeMismatch(train: [Int], test: [Int], trainPath: String)
        /// Fewer than two distinct label values in the training labels.
        case tooFewClasses(Int)
        /// More distinct training label values than `DatasetFolder.maximumClasses`.
        case tooManyClasses(Int, limit: Int)
        /// A test label value that no training image carries; `count` test images carry it.
        case testLabelNotInTraining(value: Int, count: Int, trainPath: String)
    }

    /// The folder or file the error is about.
    public let path: String
    /// What went wrong.
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// One line: the folder or file, then what was expected versus found.
    public var description: String {
        switch kind {
        case .folderNotFound:
            "\(path): no such dataset folder"
        case .notAFolder:
            "\(path): expected a dataset folder, found a file"
        case .unreadableFolder(let reason):
            "\(path): cannot read the dataset folder (\(reason))"
        case .missingFile(let tried):
            "\(path): missing file: expected one of \(tried.joined(separator: ", "))"
        case .file(let error):
            error.description
        case .nonIntegerLabels(let type):
            "\(path): expected integer labels (ubyte, byte, int16 or int32), found \(type)"
        case .negativeLabel(let index, let value):
            "\(path): label \(index) is \(value): expected labels >= 0"
        case .countMismatch(let images, let labels, let imagesPath):
            "\(path): expected \(images) labels (one per image in \(imagesPath)), found \(labels)"
        case .imageSizeMismatch(let train, let test, let trainPath):
            "\(path): expected \(Self.size(train)) images (the size in \(trainPath)), "
                + "found \(Self.size(test))"
        case .tooFewClasses(let classes):
            "\(path): expected at least 2 classes (distinct label values), found \(classes)"
        case .tooManyClasses(let classes, let limit):
            "\(path): expected at most \(limit) classes (distinct label values), found \(classes)"
        case .testLabelNotInTraining(let value, let count, let trainPath):
            "\(path): label value \(value) (carried by \(count) test image\(count == 1 ? "" : "s")) never occurs in \(trainPath): expected only the training split's label values"
        }
    }

    /// `28x28`, or `32x32x3` when there is more than one channel.
    private static func size(_ dims: [Int]) -> String {
        (dims.count > 2 && dims[2] != 1 ? dims : Array(dims.prefix(2))).map(String.init).joined(separator: "x")
    }
}
