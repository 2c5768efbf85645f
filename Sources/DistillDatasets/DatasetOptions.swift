import DistillIO

/// The options of loading a dataset that its files alone do not decide:
/// `--test-fraction` / `--split-seed` for a single class-per-folder tree (which
/// has no test split of its own) and `--label-set` for CIFAR-100. A run records
/// them in metrics.json and in its checkpoint, so that a resumed run loads the
/// same data the same way.
public struct DatasetOptions: Sendable, Equatable, Codable {
    /// The fraction of each class held out as the test split (strictly between
    /// 0 and 1), for a single class-per-folder tree; nil for formats with a test split.
    public var testFraction: Double?
    /// The seed of that split (`StratifiedSplit`); separate from the run's `--seed`
    /// so that runs with different seeds are measured on the same test images.
    public var splitSeed: UInt64
    /// CIFAR-100's labels: fine (100 classes) or coarse (20); nil elsewhere
    /// (CIFAR-100 then uses fine).
    public var labelSet: CIFAR.LabelSet?

    public init(testFraction: Double? = nil, splitSeed: UInt64 = 0, labelSet: CIFAR.LabelSet? = nil) {
        self.testFraction = testFraction
        self.splitSeed = splitSeed
        self.labelSet = labelSet
    }

    enum CodingKeys: String, CodingKey {
        case testFraction = "test_fraction", splitSeed = "split_seed", labelSet = "label_set"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        testFraction = try container.decodeIfPresent(Double.self, forKey: .testFraction)
        splitSeed = try container.decodeIfPresent(UInt64.self, forKey: .splitSeed) ?? 0
        if let name = try container.decodeIfPresent(String.self, forKey: .labelSet) {
            guard let set = CIFAR.LabelSet(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .labelSet, in: container,
                                                       debugDescription: "expected fine or coarse, found \(name)")
            }
            labelSet = set
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(testFraction, forKey: .testFraction)
        try container.encode(splitSeed, forKey: .splitSeed)
        try container.encodeIfPresent(labelSet?.rawValue, forKey: .labelSet)
    }
}

/// An option given for a dataset that does not take it, or missing where one is
/// needed: one line naming the dataset and the option.
public struct DatasetOptionsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
