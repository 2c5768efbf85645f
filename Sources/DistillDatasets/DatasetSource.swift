import DistillIO
import DistillImages

/// A labelled image dataset, loaded and checked: what every command distils,
/// evaluates or measures.
public struct Dataset: Sendable {
    /// Where it was loaded from, as given (a folder path).
    public let location: String
    /// The format it was read as, for messages and metrics.json (`IDX folder`, ...).
    public let format: String
    /// The training split: what distillation condenses.
    public let train: LabeledImages
    /// The test split, with the training split's image shape and classes.
    public let test: LabeledImages
    /// One name per class (`classes` of them), in class-index order.
    public let classNames: [String]
    /// Every file that was read, in a fixed order: their checksums identify the data.
    public let files: [String]

    public init(location: String, format: String, train: LabeledImages, test: LabeledImages,
                classNames: [String], files: [String]) {
        precondition(train.shape == test.shape && train.classes == test.classes && classNames.count == train.classes,
                     "Dataset: the splits and class names disagree")
        self.location = location
        self.format = format
        self.train = train
        self.test = test
        self.classNames = classNames
        self.files = files
    }

    public var classes: Int { train.classes }
    public var shape: ImageShape { train.shape }

    /// The SHA-256 of every file read, by file name (the last path component).
    ///
    /// - Throws: `IDXError` when a file cannot be read again.
    public func fileHashes() throws -> [String: String] {
        var hashes: [String: String] = [:]
        for file in files {
            let name = String(file.split(separator: "/").last ?? Substring(file))
            hashes[name] = try SHA256.hex(contentsOf: file)
        }
        return hashes
    }
}

/// A labelled train/test image source: one format, one type conforming to this.
///
/// To add a format, write one type that recognises its layout and loads it (see
/// `IDXFolderSource` and docs/adding-a-dataset-format.md), and add it to
/// `DatasetSources.formats`.
public protocol DatasetSource: Sendable {
    /// The format's name, for messages: `IDX folder`.
    static var format: String { get }
    /// What the format's layout looks like, for the error when nothing matches.
    static var layout: String { get }
    /// Whether `path` holds this format (by content and layout, not by name alone).
    static func recognises(_ path: String) -> Bool
    /// A source reading `path`.
    init(path: String)
    /// Loads and checks both splits.
    ///
    /// - Throws: an error whose description is one line naming the file and what
    ///   was expected versus found.
    func load() throws -> Dataset
}

/// The dataset formats `--data` recognises, and the one load path every command uses.
public enum DatasetSources {
    /// The formats tried, in order.
    public static let formats: [any DatasetSource.Type] = [IDXFolderSource.self]

    /// The source for `path`: the first format that recognises it; when none does
    /// (or the path is missing), the first format's loader, whose error names
    /// what it looked for.
    public static func source(for path: String, formats: [any DatasetSource.Type] = formats) -> any DatasetSource {
        let format = formats.first { $0.recognises(path) } ?? formats[0]
        return format.init(path: path)
    }

    /// Loads the dataset at `path` (see `source(for:formats:)`).
    public static func load(_ path: String, formats: [any DatasetSource.Type] = formats) throws -> Dataset {
        try source(for: path, formats: formats).load()
    }
}
