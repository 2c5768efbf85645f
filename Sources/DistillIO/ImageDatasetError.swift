/// Why an image dataset (PNG class folders, CIFAR batches) or one of its files was
/// rejected: the file or folder concerned and what was expected versus found.
public struct ImageDatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// Nothing exists at the path.
        case notFound
        /// A folder was expected; the path is a file.
        case notAFolder
        /// A file was expected; the path is a folder.
        case isAFolder
        /// The file or folder cannot be read; carries the system's error text.
        case unreadable(String)
        /// A name that is not valid UTF-8 (names become class names and paths).
        case invalidName
        /// The PNG file is damaged, truncated or not a PNG; carries libpng's message.
        case badPNG(String)
        /// The folder holds no class folders (non-hidden subfolders).
        case noClassFolders
        /// A class folder holds no `.png` file.
        case noImages
        /// Fewer than two classes.
        case tooFewClasses(Int)
        /// A class folder present in the other split (`otherSplit`) is absent from this one.
        case classMissing(name: String, otherSplit: String)
        /// An image of another shape than the first image of the dataset (`firstPath`).
        case shapeMismatch(expected: StoredImageShape, found: StoredImageShape, firstPath: String)
        /// A file of fixed-size records whose length is not a whole number of records.
        case recordLength(recordBytes: Int, length: Int, layout: String)
        /// A file of records that holds none.
        case noRecords(recordBytes: Int)
        /// A label outside `0..<classes`; `kind` says which label ("label", "fine label", "coarse label").
        case labelOutOfRange(record: Int, kind: String, value: Int, classes: Int)
        /// Files of the dataset absent from the folder.
        case missingFiles([String])
        /// A class-names file holding another number of names than the dataset has classes.
        case classNameCount(expected: Int, found: Int)
        /// A test fraction outside (0, 1).
        case testFraction(Double)
        /// A class with too few images to give at least one to each split.
        case tooFewToSplit(count: Int)
        /// The folder is none of the known layouts; carries what was looked for.
        case unrecognised(String)
    }

    /// The file or folder the error is about.
    public let path: String
    /// What went wrong.
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// One line: the file or folder, then what was expected versus found.
    public var description: String { "\(path): \(kind.text)" }
}

/// The shape of one stored image: rows, columns, samples per pixel and bits per
/// sample (`DistillImages.ImageShape` is the shape the models see, without the depth).
public struct StoredImageShape: Sendable, Equatable, CustomStringConvertible {
    public let height: Int
    public let width: Int
    /// 1 (grey) or 3 (RGB).
    public let channels: Int
    /// 8 or 16.
    public let bitDepth: Int

    public init(height: Int, width: Int, channels: Int, bitDepth: Int) {
        self.height = height
        self.width = width
        self.channels = channels
        self.bitDepth = bitDepth
    }

    /// "28 wide x 20 high grey 8-bit" or "32 wide x 32 high RGB 16-bit"
    /// (`PNGImage.sizeText`: width first, as `file` says it, and named).
    public var description: String {
        let colour = channels == 1 ? "grey" : channels == 3 ? "RGB" : "\(channels)-channel"
        return "\(PNGImage.sizeText(width: width, height: height)) \(colour) \(bitDepth)-bit"
    }
}

extension ImageDatasetError.Kind {
    var text: String {
        switch self {
        case .notFound:
            "no such file or folder"
        case .notAFolder:
            "expected a folder, found a file"
        case .isAFolder:
            "expected a file, found a folder"
        case .unreadable(let reason):
            "cannot read (\(reason))"
        case .invalidName:
            "expected a UTF-8 name, found other bytes"
        case .badPNG(let message):
            "expected a PNG image, found a damaged or non-PNG file (libpng: \(message))"
        case .noClassFolders:
            "expected class folders (one per class, holding .png files), found none"
        case .noImages:
            "expected .png files in the class folder, found none"
        case .tooFewClasses(let found):
            "expected at least 2 class folders, found \(found)"
        case .classMissing(let name, let otherSplit):
            "expected a class folder '\(name)' (as in \(otherSplit)), found none"
        case .shapeMismatch(let expected, let found, let firstPath):
            "expected a \(expected) image (as \(firstPath)), found \(found); images are never resized"
        case .recordLength(let recordBytes, let length, let layout):
            "expected a whole number of \(recordBytes)-byte records (\(layout)), found \(length) bytes"
        case .noRecords(let recordBytes):
            "expected at least one \(recordBytes)-byte record, found an empty file"
        case .labelOutOfRange(let record, let kind, let value, let classes):
            "record \(record) has \(kind) \(value): expected 0...\(classes - 1)"
        case .missingFiles(let names):
            "missing file\(names.count == 1 ? "" : "s"): expected \(names.joined(separator: ", "))"
        case .classNameCount(let expected, let found):
            "expected \(expected) class names (one per line), found \(found)"
        case .testFraction(let fraction):
            "test fraction \(fraction): expected a number strictly between 0 and 1"
        case .tooFewToSplit(let count):
            "expected at least 2 images in the class to split into train and test, found \(count)"
        case .unrecognised(let what):
            "no dataset found: \(what)"
        }
    }
}
