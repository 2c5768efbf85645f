import DistillIO
import Foundation
import Testing

/// A tiny dataset: 6 training and 4 test images of 5x7 pixels, 3 classes. Training
/// files raw with the dash spelling (labels gzip, named `.gz`), test files with the
/// dot spelling (images gzip, labels raw).
private struct TinyDataset {
    var trainImages: IDXArray
    var trainLabels: IDXArray
    var testImages: IDXArray
    var testLabels: IDXArray

    init() throws {
        trainImages = try IDXArray(shape: [6, 5, 7], elements: .ubyte((0..<210).map { UInt8($0) }))
        trainLabels = try IDXArray(shape: [6], elements: .int16([0, 1, 2, 0, 1, 0]))
        testImages = try IDXArray(shape: [4, 5, 7], elements: .ubyte((0..<140).map { UInt8(255 - $0) }))
        testLabels = try IDXArray(shape: [4], elements: .ubyte([2, 2, 1, 0]))
    }

    func write(to folder: IDXTestFolder) throws {
        try IDX.write(trainImages, to: folder.file("train-images-idx3-ubyte"))
        try IDX.write(trainLabels, to: folder.file("train-labels-idx1-ubyte.gz"), gzip: true)
        try IDX.write(testImages, to: folder.file("t10k-images.idx3-ubyte"), gzip: true)
        try IDX.write(testLabels, to: folder.file("t10k-labels.idx1-ubyte"))
    }
}

@Test("a tiny 5x7, 3-class dataset loads from mixed raw and gzip files")
func tinyDataset() throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    let tiny = try TinyDataset()
    try tiny.write(to: folder)
    let dataset = try DatasetFolder.load(folder.path)
    #expect(dataset.classes == 3)
    #expect(dataset.train.count == 6 && dataset.test.count == 4)
    #expect(dataset.train.height == 5 && dataset.train.width == 7)
    #expect(dataset.test.height == 5 && dataset.test.width == 7)
    #expect(dataset.train.pixels == .bytes((0..<210).map { UInt8($0) }))
    #expect(dataset.test.pixels == .bytes((0..<140).map { UInt8(255 - $0) }))
    #expect(dataset.train.labels == [0, 1, 2, 0, 1, 0])
    #expect(dataset.test.labels == [2, 2, 1, 0])
    #expect(dataset.train.classCounts(classes: dataset.classes) == [3, 2, 1])
    #expect(dataset.train.imagesPath == folder.file("train-images-idx3-ubyte"))
    #expect(dataset.test.labelsPath == folder.file("t10k-labels.idx1-ubyte"))
}

@Test("images of other types become finite floats; NaN, infinity and Float overflow are rejected")
func floatImages() throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    var tiny = try TinyDataset()
    tiny.trainImages = try IDXArray(shape: [6, 5, 7], elements: .float64((0..<210).map { Double($0) / 4 }))
    tiny.testImages = try IDXArray(shape: [4, 5, 7], elements: .int16((0..<140).map { Int16($0) - 70 }))
    try tiny.write(to: folder)
    let dataset = try DatasetFolder.load(folder.path)
    #expect(dataset.train.pixels == .floats((0..<210).map { Float($0) / 4 }))
    #expect(dataset.test.pixels == .floats((0..<140).map { Float($0) - 70 }))

    for (bad, index) in [(Double.nan, 17), (-.infinity, 3), (1e300, 209)] {
        var values = (0..<210).map { Double($0) }
        values[index] = bad
        tiny.trainImages = try IDXArray(shape: [6, 5, 7], elements: .float64(values))
        try tiny.write(to: folder)
        let path = folder.file("train-images-idx3-ubyte")
        let expected = IDXError(path: path, kind: .nonFiniteValue(index: index))
        #expect(throws: DatasetError(path: path, kind: .file(expected))) { try DatasetFolder.load(folder.path) }
    }
}

/// Writes the tiny dataset with `change` applied and checks that loading fails with
/// `kind` (given the folder), naming `file` (a name in the folder; nil: the folder).
private func expectDatasetError(
    file: String?, sourceLocation: SourceLocation = #_sourceLocation,
    _ kind: (IDXTestFolder) -> DatasetError.Kind,
    change: (inout TinyDataset) throws -> Void
) throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    var tiny = try TinyDataset()
    try change(&tiny)
    try tiny.write(to: folder)
    let path = file.map(folder.file) ?? folder.path
    let error = #expect(throws: DatasetError.self, sourceLocation: sourceLocation) {
        try DatasetFolder.load(folder.path)
    }
    #expect(error == DatasetError(path: path, kind: kind(folder)), sourceLocation: sourceLocation)
    #expect(error?.description.hasPrefix(path + ": ") == true, sourceLocation: sourceLocation)
}

@Test("inconsistent datasets give typed errors naming the file")
func inconsistentDatasets() throws {
    try expectDatasetError(file: "train-labels-idx1-ubyte.gz", {
        .countMismatch(images: 6, labels: 5, imagesPath: $0.file("train-images-idx3-ubyte"))
    }) { tiny in
        tiny.trainLabels = try IDXArray(shape: [5], elements: .ubyte([0, 1, 2, 0, 1]))
    }
    try expectDatasetError(file: "t10k-labels.idx1-ubyte", {
        .countMismatch(images: 4, labels: 6, imagesPath: $0.file("t10k-images.idx3-ubyte"))
    }) { tiny in
        tiny.testLabels = try IDXArray(shape: [6], elements: .ubyte([0, 1, 2, 0, 1, 1]))
    }
    try expectDatasetError(file: "t10k-images.idx3-ubyte", {
        .imageSizeMismatch(train: [5, 7], test: [7, 5], trainPath: $0.file("train-images-idx3-ubyte"))
    }) { tiny in
        tiny.testImages = try IDXArray(shape: [4, 7, 5], elements: .ubyte(.init(repeating: 1, count: 140)))
    }
    try expectDatasetError(file: "train-images-idx3-ubyte", {
        .file(IDXError(path: $0.file("train-images-idx3-ubyte"), kind: .unexpectedRank(
            expected: "rank 3 (count x height x width) or 4 (count x height x width x channels)", found: 2)))
    }) {
        tiny in tiny.trainImages = try IDXArray(shape: [6, 35], elements: .ubyte(.init(repeating: 1, count: 210)))
    }
    try expectDatasetError(file: "t10k-labels.idx1-ubyte", {
        .file(IDXError(path: $0.file("t10k-labels.idx1-ubyte"), kind: .unexpectedRank(expected: "rank 1 (labels)", found: 2)))
    }) {
        tiny in tiny.testLabels = try IDXArray(shape: [4, 1], elements: .ubyte([0, 1, 2, 0]))
    }
    try expectDatasetError(file: "train-labels-idx1-ubyte.gz", { _ in .nonIntegerLabels(.float32) }) { tiny in
        tiny.trainLabels = try IDXArray(shape: [6], elements: .float32([0, 1, 2, 0, 1, 0]))
    }
    try expectDatasetError(file: "train-labels-idx1-ubyte.gz", { _ in .negativeLabel(index: 4, value: -1) }) {
        tiny in tiny.trainLabels = try IDXArray(shape: [6], elements: .byte([0, 1, 2, 0, -1, 0]))
    }
    try expectDatasetError(file: "train-labels-idx1-ubyte.gz", { _ in .tooFewClasses(1) }) { tiny in
        tiny.trainLabels = try IDXArray(shape: [6], elements: .int32(.init(repeating: 0, count: 6)))
        tiny.testLabels = try IDXArray(shape: [4], elements: .ubyte(.init(repeating: 0, count: 4)))
    }
    // A stray huge test label is a label no training image carries: named with its count.
    try expectDatasetError(file: "t10k-labels.idx1-ubyte", { folder in
        .testLabelNotInTraining(value: 70_000, count: 1, trainPath: folder.file("train-labels-idx1-ubyte.gz"))
    }) { tiny in tiny.testLabels = try IDXArray(shape: [4], elements: .int32([0, 70_000, 1, 2])) }
    try expectDatasetError(file: "t10k-labels.idx1-ubyte", { folder in
        .testLabelNotInTraining(value: 255, count: 2, trainPath: folder.file("train-labels-idx1-ubyte.gz"))
    }) { tiny in tiny.testLabels = try IDXArray(shape: [4], elements: .ubyte([255, 1, 255, 2])) }
}

@Test("the classes are the distinct training label values, in increasing order; labels map to 0..C-1")
func labelValuesNeedNotBeConsecutive() throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    var tiny = try TinyDataset()
    tiny.trainLabels = try IDXArray(shape: [6], elements: .int16([7, 1, 3, 7, 1, 7]))
    tiny.testLabels = try IDXArray(shape: [4], elements: .ubyte([3, 3, 1, 7]))
    try tiny.write(to: folder)
    let dataset = try DatasetFolder.load(folder.path)
    #expect(dataset.classValues == [1, 3, 7])
    #expect(dataset.classes == 3)
    #expect(dataset.classIndices(of: dataset.train) == [2, 0, 1, 2, 0, 2])
    #expect(dataset.classIndices(of: dataset.test) == [1, 1, 0, 2])
    #expect(dataset.train.labels == [7, 1, 3, 7, 1, 7])
}

@Test("missing folders and files, and malformed files, give typed errors")
func missingPieces() throws {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    let nowhere = folder.file("nowhere")
    #expect(throws: DatasetError(path: nowhere, kind: .folderNotFound)) { try DatasetFolder.load(nowhere) }
    let plain = try folder.write([1, 2, 3], to: "plain-file")
    #expect(throws: DatasetError(path: plain, kind: .notAFolder)) { try DatasetFolder.load(plain) }

    let tried = ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
                 "t10k-images.idx3-ubyte", "t10k-images.idx3-ubyte.gz"]
    try TinyDataset().write(to: folder)
    try FileManager.default.removeItem(atPath: folder.file("t10k-images.idx3-ubyte"))
    #expect(throws: DatasetError(path: folder.path, kind: .missingFile(tried: tried))) {
        try DatasetFolder.load(folder.path)
    }
    let error = DatasetError(path: "data", kind: .missingFile(tried: tried))
    #expect(error.description == "data: missing file: expected one of " + tried.joined(separator: ", "))

    // A malformed file: its IDX error, which names the file.
    let labels = try IDXTestFolder()
    defer { labels.remove() }
    try TinyDataset().write(to: labels)
    let broken = try labels.write([0, 0, 8, 1, 0, 0, 0, 9, 1], to: "t10k-labels.idx1-ubyte")
    let idxError = IDXError(path: broken, kind: .truncated(expected: 9, found: 1))
    #expect(throws: DatasetError(path: broken, kind: .file(idxError))) { try DatasetFolder.load(labels.path) }
    #expect(DatasetError(path: broken, kind: .file(idxError)).description == idxError.description)
}

@Test("the MNIST copy in data/mnist: contents match SHA256SUMS; known counts and mean pixel")
func mnist() throws {
    let folder = packageRoot() + "/data/mnist"
    // Decompressing, decoding and re-encoding must give back the original bytes.
    let scratch = try IDXTestFolder()
    defer { scratch.remove() }
    let sums = try String(contentsOfFile: folder + "/SHA256SUMS", encoding: .utf8)
    var names: [String] = []
    for line in sums.split(separator: "\n") {
        let name = try #require(line.split(separator: " ").last.map(String.init))
        try IDX.write(IDX.read(contentsOf: folder + "/" + name + ".gz"), to: scratch.file(name))
        names.append(name)
    }
    #expect(names.count == 4)
    #expect(try sha256sum(names, in: scratch.path) == sums)

    let dataset = try DatasetFolder.load(folder)
    #expect(dataset.classes == 10)
    #expect(dataset.train.count == 60_000 && dataset.test.count == 10_000)
    let sizes: [Int] = [dataset.train.height, dataset.train.width, dataset.test.height, dataset.test.width]
    #expect(sizes == [28, 28, 28, 28])
    #expect(dataset.train.classCounts(classes: 10) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    guard case .bytes(let pixels) = dataset.train.pixels else {
        Issue.record("MNIST training pixels should stay bytes")
        return
    }
    #expect(pixels.count == 60_000 * 784)
    let mean = Double(pixels.reduce(0) { $0 + Int($1) }) / Double(pixels.count)
    #expect(abs(mean - 33.318) <= 0.001)
}
