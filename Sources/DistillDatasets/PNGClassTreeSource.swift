import DistillIO

/// A single class-per-folder PNG tree, `PATH/<class>/*.png`
/// (`ImageFolderTree.loadClasses`), split into train and test by
/// `--test-fraction F`: per class, `round(F * n)` images (at least one, and at
/// least one left to train) go to test, chosen by a seeded shuffle
/// (`StratifiedSplit`, seed `--split-seed`). The fraction and seed are recorded
/// in metrics.json and the checkpoint. Pixels as `PNGTrainTestSource`.
public struct PNGClassTreeSource: DatasetSource {
    public static let format = "PNG class tree"
    public static let layout = "<class>/*.png, split with --test-fraction"

    public let path: String
    public let options: DatasetOptions

    public init(path: String) { self.init(path: path, options: DatasetOptions()) }

    public init(path: String, options: DatasetOptions) {
        self.path = path
        self.options = options
    }

    /// `DatasetFormat.detect` finds class folders of PNG files (and no train/test pair).
    public static func recognises(_ path: String) -> Bool {
        (try? DatasetFormat.detect(path))?.format == .pngClasses
    }

    /// Needs `--test-fraction`; takes no label set.
    public static func check(_ options: DatasetOptions, path: String) throws(DatasetOptionsError) {
        try rejectLabelSet(options, path: path)
        guard options.testFraction != nil else {
            throw DatasetOptionsError("\(path): a single class-per-folder PNG tree has no test split: expected --test-fraction F (e.g. 0.2) to hold out that fraction of each class, or train/ and test/ folders, found neither")
        }
    }

    public func load() throws -> Dataset {
        try Self.check(options, path: path)
        let fraction = options.testFraction ?? 0  // `check` guarantees one
        let split = try ImageFolderTree.loadClasses(path).split(testFraction: fraction, seed: options.splitSeed)
        return Dataset(split, location: path, format: Self.format,
                       options: DatasetOptions(testFraction: fraction, splitSeed: options.splitSeed))
    }
}
