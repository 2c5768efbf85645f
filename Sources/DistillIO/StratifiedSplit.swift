/// A seeded, stratified train/test split of labelled items.
///
/// For each class in label order, the indices of its items (ascending) are shuffled
/// by Fisher–Yates driven by SplitMix64 (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014) seeded with `seed`: for `i` from
/// `n - 1` down to 1, swap position `i` with position `next() % (i + 1)`. One generator
/// runs across all classes in label order. The first `round(testFraction * n)` shuffled
/// indices of the class (halves away from zero, clamped to `1...n - 1`) go to test,
/// the rest to train. Both lists are returned in ascending order.
///
/// The same labels, fraction and seed give the same split on every machine.
public enum StratifiedSplit {
    /// Train and test indices into `labels` (each class in `0..<classes`).
    /// - Throws: `testFraction` outside (0, 1) (path `name`), or a class with
    ///   fewer than 2 items (path `classPaths[class]`, or `name` if not given).
    public static func indices(
        labels: [Int], classes: Int, testFraction: Double, seed: UInt64,
        name: String, classPaths: [String] = []
    ) throws(ImageDatasetError) -> (train: [Int], test: [Int]) {
        guard testFraction > 0, testFraction < 1 else {
            throw ImageDatasetError(path: name, kind: .testFraction(testFraction))
        }
        var members = [[Int]](repeating: [], count: classes)
        for (index, label) in labels.enumerated() where label >= 0 && label < classes {
            members[label].append(index)
        }
        var generator = SplitMix64(seed: seed)
        var train: [Int] = [], test: [Int] = []
        for (label, var items) in members.enumerated() where !items.isEmpty {
            let n = items.count
            guard n >= 2 else {
                let path = label < classPaths.count ? classPaths[label] : name
                throw ImageDatasetError(path: path, kind: .tooFewToSplit(count: n))
            }
            for i in stride(from: n - 1, through: 1, by: -1) {
                let j = Int(generator.next() % UInt64(i + 1))
                items.swapAt(i, j)
            }
            let testCount = min(max(Int((testFraction * Double(n)).rounded(.toNearestOrAwayFromZero)), 1), n - 1)
            test += items[..<testCount]
            train += items[testCount...]
        }
        return (train.sorted(), test.sorted())
    }
}

/// SplitMix64: a 64-bit state advanced by 0x9E3779B97F4A7C15, output mixed by two
/// multiply-xorshift rounds (the constants of the reference implementation).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ImageCollection {
    /// Splits the images into train and test with `StratifiedSplit` (per class,
    /// `round(testFraction * n)` images to test, at least 1 to each split).
    /// `files` of the result are this collection's files, in their original order.
    public func split(testFraction: Double, seed: UInt64) throws(ImageDatasetError) -> ImageDataset {
        let (train, test) = try StratifiedSplit.indices(
            labels: images.labels, classes: classNames.count, testFraction: testFraction, seed: seed,
            name: path, classPaths: classFolders)
        return ImageDataset(train: images.subset(train), test: images.subset(test),
                            classNames: classNames, files: files)
    }
}
