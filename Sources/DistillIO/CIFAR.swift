/// CIFAR-10 and CIFAR-100 in their binary distribution ("binary version" on
/// https://www.cs.toronto.edu/~kriz/cifar.html).
///
/// A file is a sequence of records: label byte(s), then 3072 pixel bytes: the
/// 1024 red samples of the 32x32 image row by row, then the green, then the blue
/// (planar CHW). Records are converted to HWC (pixel by pixel, R, G, B), 8-bit.
///
/// - CIFAR-10: `data_batch_1.bin` ... `data_batch_5.bin` (train, in that order) and
///   `test_batch.bin`; records of 1 label byte (0...9) + 3072 bytes. Class names:
///   the non-empty lines of `batches.meta.txt` (whitespace trimmed; exactly 10) when
///   present, else "0"..."9".
/// - CIFAR-100: `train.bin` and `test.bin`; records of 2 label bytes, coarse (0...19)
///   then fine (0...99), + 3072 bytes. Both labels are checked; `labelSet` picks
///   which one becomes the label. Class names: `fine_label_names.txt` (100 lines)
///   or `coarse_label_names.txt` (20) as for CIFAR-10, else "0"..."N-1".
public enum CIFAR {
    /// Which CIFAR-100 label becomes the label.
    public enum LabelSet: String, Sendable, CaseIterable {
        /// The 100 classes.
        case fine
        /// The 20 superclasses.
        case coarse
    }

    /// Image height and width.
    public static let side = 32
    /// Pixel bytes per record: 32 x 32 x 3.
    public static let imageBytes = 3072
    /// The CIFAR-10 training batch names, in reading order.
    public static let cifar10TrainFiles = (1...5).map { "data_batch_\($0).bin" }
    /// The CIFAR-10 test batch name.
    public static let cifar10TestFile = "test_batch.bin"
    /// The CIFAR-10 class names file.
    public static let cifar10NamesFile = "batches.meta.txt"
    /// The CIFAR-100 file names.
    public static let cifar100TrainFile = "train.bin", cifar100TestFile = "test.bin"
    /// The CIFAR-100 class names files.
    public static let cifar100FineNamesFile = "fine_label_names.txt"
    public static let cifar100CoarseNamesFile = "coarse_label_names.txt"

    /// Loads CIFAR-10 from `folder`. `files`: the six batches, then `batches.meta.txt` if read.
    public static func load10(_ folder: String) throws(ImageDatasetError) -> ImageDataset {
        try DatasetFiles.requireFolder(folder)
        let trainNames = cifar10TrainFiles, testName = cifar10TestFile
        try requireFiles(trainNames + [testName], in: folder)
        var trainPixels: [UInt8] = [], trainLabels: [Int] = []
        for name in trainNames {
            let batch = try readBatch(DatasetFiles.join(folder, name), labelBytes: 1, limits: [(10, "label")])
            trainPixels += batch.pixels
            trainLabels += batch.labels[0]
        }
        let test = try readBatch(DatasetFiles.join(folder, testName), labelBytes: 1, limits: [(10, "label")])
        var files = (trainNames + [testName]).map { DatasetFiles.join(folder, $0) }
        let classNames = try names(DatasetFiles.join(folder, cifar10NamesFile), classes: 10, files: &files)
        return ImageDataset(train: images(trainPixels, trainLabels), test: images(test.pixels, test.labels[0]),
                            classNames: classNames, files: files)
    }

    /// Loads CIFAR-100 from `folder` with the `labelSet` labels. `files`: `train.bin`,
    /// `test.bin`, then the names file of the label set if read.
    public static func load100(_ folder: String, labelSet: LabelSet) throws(ImageDatasetError) -> ImageDataset {
        try DatasetFiles.requireFolder(folder)
        try requireFiles([cifar100TrainFile, cifar100TestFile], in: folder)
        let limits = [(20, "coarse label"), (100, "fine label")]
        let train = try readBatch(DatasetFiles.join(folder, cifar100TrainFile), labelBytes: 2, limits: limits)
        let test = try readBatch(DatasetFiles.join(folder, cifar100TestFile), labelBytes: 2, limits: limits)
        var files = [cifar100TrainFile, cifar100TestFile].map { DatasetFiles.join(folder, $0) }
        let which = labelSet == .coarse ? 0 : 1
        let namesFile = labelSet == .coarse ? cifar100CoarseNamesFile : cifar100FineNamesFile
        let classNames = try names(DatasetFiles.join(folder, namesFile), classes: limits[which].0, files: &files)
        return ImageDataset(train: images(train.pixels, train.labels[which]),
                            test: images(test.pixels, test.labels[which]), classNames: classNames, files: files)
    }

    /// Throws `missingFiles` (on the folder) listing every name absent from `folder`.
    static func requireFiles(_ names: [String], in folder: String) throws(ImageDatasetError) {
        let missing = names.filter { DatasetFiles.kind(of: DatasetFiles.join(folder, $0)) == .missing }
        if !missing.isEmpty { throw ImageDatasetError(path: folder, kind: .missingFiles(missing)) }
    }

    private static func images(_ pixels: [UInt8], _ labels: [Int]) -> ImageSet {
        ImageSet(validSamples: .uint8(pixels), labels: labels, height: side, width: side, channels: 3)
    }

    /// Reads one batch file: HWC pixels and, for each label byte, its labels, each
    /// checked against `limits[k]` (the number of classes and the label's name in errors).
    static func readBatch(_ path: String, labelBytes: Int, limits: [(Int, String)]) throws(ImageDatasetError)
        -> (pixels: [UInt8], labels: [[Int]])
    {
        let bytes = try DatasetFiles.read(path)
        let recordBytes = labelBytes + imageBytes
        guard bytes.count % recordBytes == 0 else {
            let layout = "\(labelBytes) label byte\(labelBytes == 1 ? "" : "s") + \(imageBytes) pixel bytes"
            throw ImageDatasetError(path: path, kind: .recordLength(
                recordBytes: recordBytes, length: bytes.count, layout: layout))
        }
        let count = bytes.count / recordBytes
        guard count > 0 else { throw ImageDatasetError(path: path, kind: .noRecords(recordBytes: recordBytes)) }
        var labels = [[Int]](repeating: [], count: labelBytes)
        for k in 0..<labelBytes {
            let (classes, name) = limits[k]
            labels[k] = (0..<count).map { Int(bytes[$0 * recordBytes + k]) }
            if let record = labels[k].firstIndex(where: { $0 >= classes }) {
                throw ImageDatasetError(path: path, kind: .labelOutOfRange(
                    record: record, kind: name, value: labels[k][record], classes: classes))
            }
        }
        let plane = side * side
        let pixels = [UInt8](unsafeUninitializedCapacity: count * imageBytes) { out, initialized in
            bytes.withUnsafeBufferPointer { input in
                for record in 0..<count {
                    let source = record * recordBytes + labelBytes, target = record * imageBytes
                    for p in 0..<plane {
                        out[target + 3 * p] = input[source + p]
                        out[target + 3 * p + 1] = input[source + plane + p]
                        out[target + 3 * p + 2] = input[source + 2 * plane + p]
                    }
                }
            }
            initialized = count * imageBytes
        }
        return (pixels, labels)
    }

    /// The class names in `path` if it exists (appending it to `files`), else "0"..."N-1".
    static func names(_ path: String, classes: Int, files: inout [String]) throws(ImageDatasetError) -> [String] {
        guard DatasetFiles.kind(of: path) != .missing else { return (0..<classes).map(String.init) }
        let bytes = try DatasetFiles.read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ImageDatasetError(path: path, kind: .invalidName)
        }
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingWhitespace() }
            .filter { !$0.isEmpty }
        guard names.count == classes else {
            throw ImageDatasetError(path: path, kind: .classNameCount(expected: classes, found: names.count))
        }
        files.append(path)
        return names
    }
}

extension Substring {
    /// The text without leading and trailing whitespace.
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
