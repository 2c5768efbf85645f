import Foundation
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
    /// The label value each class has in the dataset's files, in class-index
    /// order (class `k` is the label `classValues[k]`: an IDX folder's distinct
    /// training label values, CIFAR's 0..<C); nil when the files name the classes
    /// rather than number them (a PNG tree's folder names), where a class is its
    /// index and `classNames` names it. Outputs that hold labels write these values.
    public let classValues: [Int]?
    /// Every file that was read, in a fixed order: their checksums identify the data.
    public let files: [String]
    /// The loading options that shaped it (a split's fraction and seed, CIFAR-100's
    /// label set); the defaults when the format takes none.
    public var options: DatasetOptions

    public init(location: String, format: String, train: LabeledImages, test: LabeledImages,
                classNames: [String], files: [String], options: DatasetOptions = DatasetOptions(), classValues: [Int]? = nil) {
        precondition(train.shape == test.shape && train.classes == test.classes && classNames.count == train.classes
                     && (classValues?.count ?? train.classes) == train.classes,
                     "Dataset: the splits, class names and class values disagree")
        self.classValues = classValues
        self.location = location
        self.format = format
        self.train = train
        self.test = test
        self.classNames = classNames
        self.files = files
        self.options = options
    }

    public var classes: Int { train.classes }

    /// The label value of class `index` in the dataset's files (the index itself
    /// when the files name the classes; see `classValues`).
    public func labelValue(ofClass index: Int) -> Int { classValues?[index] ?? index }
    public var shape: ImageShape { train.shape }

    /// Up to this many files are hashed one by one in `fileHashes()`; more (a PNG
    /// tree) get one digest, so that metrics.json and checkpoints stay small.
    public static let individuallyHashedFiles = 64

    /// The SHA-256 of the files read, by name relative to `location` (an IDX
    /// folder's file names). With more than `individuallyHashedFiles` files, one
    /// entry `sha256sum of N files`: the SHA-256 of the lines
    /// `<file's SHA-256>  <relative name>\n`, files in `files` order (what
    /// `LC_ALL=C sha256sum train/*/*.png test/*/*.png | sha256sum` prints in the
    /// tree's folder for a train/test tree).
    ///
    /// - Throws: `IDXError` when a file cannot be read again.
    public func fileHashes() throws -> [String: String] {
        let names = files.map(relativeName)
        if files.count <= Self.individuallyHashedFiles {
            var hashes: [String: String] = [:]
            for (name, file) in zip(names, files) { hashes[name] = try SHA256.hex(contentsOf: file) }
            return hashes
        }
        // Many small files (a PNG tree): hashed on every core, combined in file order.
        let perFile = try Self.hashesInParallel(files)
        var digest = SHA256()
        for (name, hash) in zip(names, perFile) {
            digest.update(Array("\(hash)  \(name)\n".utf8))
        }
        return ["sha256sum of \(files.count) files": digest.finalHex()]
    }

    /// The SHA-256 of each file, in order, computed on all cores; the first
    /// file (in order) that cannot be read is the error thrown.
    static func hashesInParallel(_ files: [String]) throws -> [String] {
        let results = HashResults(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            results.set(i, Result { try SHA256.hex(contentsOf: files[i]) })
        }
        return try results.values.map { try $0.get() }
    }

    /// `file` relative to `location` when it lies under it, else its last component.
    func relativeName(_ file: String) -> String {
        let root = location.hasSuffix("/") ? location : location + "/"
        if file.hasPrefix(root), file.count > root.count { return String(file.dropFirst(root.count)) }
        return String(file.split(separator: "/").last ?? Substring(file))
    }
}

/// Per-file results written by concurrent workers, each index once.
private final class HashResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<String, any Error>]

    init(count: Int) { results = Array(repeating: .success(""), count: count) }

    func set(_ i: Int, _ result: Result<String, any Error>) {
        lock.lock(); results[i] = result; lock.unlock()
    }

    var values: [Result<String, any Error>] { lock.lock(); defer { lock.unlock() }; return results }
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
    /// A source reading `path` with `options` (already accepted by `check`).
    /// By default the options are ignored: `init(path:)`.
    init(path: String, options: DatasetOptions)
    /// Throws unless the format takes `options`: by default it takes none of them
    /// (a test fraction or label set given for it is an error, not ignored).
    static func check(_ options: DatasetOptions, path: String) throws(DatasetOptionsError)
    /// Loads and checks both splits.
    ///
    /// - Throws: an error whose description is one line naming the file and what
    ///   was expected versus found.
    func load() throws -> Dataset
}

/// `name` with its indefinite article: "an IDX folder", "a PNG class tree"
/// (the format names begin with their letters' sounds: I is the only vowel among them).
func withArticle(_ name: String) -> String {
    ("AEIOU".contains(name.first ?? "x") ? "an " : "a ") + name
}

extension DatasetSource {
    public init(path: String, options: DatasetOptions) { self.init(path: path) }

    public static func check(_ options: DatasetOptions, path: String) throws(DatasetOptionsError) {
        try rejectTestFraction(options, path: path)
        try rejectLabelSet(options, path: path)
    }

    /// Throws when `options` holds a test fraction: this format has its own test split.
    public static func rejectTestFraction(_ options: DatasetOptions, path: String) throws(DatasetOptionsError) {
        if let fraction = options.testFraction {
            throw DatasetOptionsError("\(path): --test-fraction \(fraction) is for a single class-per-folder PNG tree; expected no --test-fraction for a dataset with its own test split, found \(withArticle(format))")
        }
    }

    /// Throws when `options` holds a label set: only CIFAR-100 has two.
    public static func rejectLabelSet(_ options: DatasetOptions, path: String) throws(DatasetOptionsError) {
        if let set = options.labelSet {
            throw DatasetOptionsError("\(path): --label-set \(set.rawValue) is for CIFAR-100 files; expected no --label-set, found \(withArticle(format))")
        }
    }
}

/// The dataset formats `--data` recognises, and the one load path every command uses.
public enum DatasetSources {
    /// The formats tried, in order. Every one but the IDX folder is recognised by
    /// `DatasetFormat.detect`, which decides between them by content and layout.
    public static let formats: [any DatasetSource.Type] = [
        IDXFolderSource.self, PNGTrainTestSource.self, PNGClassTreeSource.self, CIFAR10Source.self, CIFAR100Source.self,
    ]

    /// The source for `path`: the first format that recognises it; when none does
    /// (or the path is missing), the first format's loader (`load` says instead
    /// that a folder no format recognises holds no dataset).
    public static func source(for path: String, formats: [any DatasetSource.Type] = formats) -> any DatasetSource {
        format(of: path, formats: formats).init(path: path)
    }

    /// The format that reads `path` (see `source(for:formats:)`).
    public static func format(of path: String, formats: [any DatasetSource.Type] = formats) -> any DatasetSource.Type {
        formats.first { $0.recognises(path) } ?? formats[0]
    }

    /// The error for a folder that none of `formats` recognises: `PATH: no dataset
    /// found: expected one of: <each format and its layout>; found <what the folder
    /// holds and its nearest partial match (`DatasetFormat.contents(of:)`)>`.
    public static func noDataset(at path: String, formats: [any DatasetSource.Type] = formats) -> ImageDatasetError {
        let expected = formats.map { "\($0.format) (\($0.layout))" }.joined(separator: "; ")
        return ImageDatasetError(path: path, kind: .unrecognised("expected one of: \(expected); found \(DatasetFormat.contents(of: path))"))
    }

    /// Loads the dataset at `path` (see `source(for:formats:)`) with `options`,
    /// after checking that its format takes them.
    ///
    /// - Throws: `DatasetOptionsError` for an option the format does not take (or
    ///   lacks), else the source's one-line error.
    public static func load(_ path: String, options: DatasetOptions = DatasetOptions(),
                            formats: [any DatasetSource.Type] = formats) throws -> Dataset {
        let format = format(of: path, formats: formats)
        guard formats.contains(where: { $0.recognises(path) }) else {
            // A folder no format recognises holds no dataset: one line listing every
            // format's layout and what the folder holds, before any option is judged.
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                throw noDataset(at: path, formats: formats)
            }
            // A missing path or a file: the first format's loader names the problem.
            return try format.init(path: path).load()
        }
        try format.check(options, path: path)
        return try format.init(path: path, options: options).load()
    }
}
