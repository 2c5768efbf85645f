import Foundation
import Testing
@testable import DistillIO

/// CIFAR records written by the test: `labels` bytes then 3072 planar pixel bytes
/// (R plane, G plane, B plane), with the HWC image they must read back to.
private struct CIFARRecords {
    var bytes: [UInt8] = []
    var hwc: [UInt8] = []
    var labels: [[Int]] = []

    init(count: Int, labelBytes: Int, classes: [Int], seed: Int) {
        labels = Array(repeating: [], count: labelBytes)
        for r in 0..<count {
            for k in 0..<labelBytes {
                let label = (r * 7 + seed + k * 3) % classes[k]
                labels[k].append(label)
                bytes.append(UInt8(label))
            }
            // Pixel (y, x), channel c holds a value that depends on all three.
            let image = (0..<32).flatMap { y in (0..<32).flatMap { x in (0..<3).map { c in
                UInt8(truncatingIfNeeded: y * 8 + x * 3 + c * 85 + r * 11 + seed)
            } } }
            hwc += image
            for c in 0..<3 { for p in 0..<1024 { bytes.append(image[p * 3 + c]) } }
        }
    }
}

@Test("CIFAR-10 batches written by the test read back to the values written, HWC, with class names")
func cifar10() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    var train: [CIFARRecords] = []
    for b in 1...5 {
        let records = CIFARRecords(count: b + 1, labelBytes: 1, classes: [10], seed: b)
        try tree.write(records.bytes, to: "data_batch_\(b).bin")
        train.append(records)
    }
    let test = CIFARRecords(count: 4, labelBytes: 1, classes: [10], seed: 99)
    try tree.write(test.bytes, to: "test_batch.bin")
    var dataset = try CIFAR.load10(tree.path)
    #expect(dataset.train.samples == .uint8(train.flatMap(\.hwc)))
    #expect(dataset.train.labels == train.flatMap { $0.labels[0] })
    #expect(dataset.test.samples == .uint8(test.hwc) && dataset.test.labels == test.labels[0])
    #expect((dataset.train.count, dataset.train.height, dataset.train.width, dataset.train.channels) == (20, 32, 32, 3))
    #expect(dataset.classNames == (0..<10).map(String.init))
    #expect(dataset.files == ((1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]).map(tree.file))
    // Spot check against the planar layout directly: record 0 of batch 1, pixel (y 2, x 5), blue.
    guard case .uint8(let pixels) = dataset.train.samples else { return }
    #expect(pixels[(2 * 32 + 5) * 3 + 2] == train[0].bytes[1 + 2048 + 2 * 32 + 5])

    let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    try tree.write(Array((names.joined(separator: "\n") + "\n\n").utf8), to: "batches.meta.txt")
    dataset = try CIFAR.load10(tree.path)
    #expect(dataset.classNames == names && dataset.files.last == tree.file("batches.meta.txt"))
}

@Test("CIFAR-100 train.bin and test.bin read back with fine or coarse labels and their names")
func cifar100() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    let train = CIFARRecords(count: 6, labelBytes: 2, classes: [20, 100], seed: 3)
    let test = CIFARRecords(count: 3, labelBytes: 2, classes: [20, 100], seed: 8)
    try tree.write(train.bytes, to: "train.bin")
    try tree.write(test.bytes, to: "test.bin")
    let fine = try CIFAR.load100(tree.path, labelSet: .fine)
    #expect(fine.train.samples == .uint8(train.hwc) && fine.test.samples == .uint8(test.hwc))
    #expect(fine.train.labels == train.labels[1] && fine.test.labels == test.labels[1])
    #expect(fine.classNames.count == 100)
    let coarse = try CIFAR.load100(tree.path, labelSet: .coarse)
    #expect(coarse.train.labels == train.labels[0] && coarse.test.labels == test.labels[0])
    #expect(coarse.classNames == (0..<20).map(String.init))
    #expect(coarse.train.labels != fine.train.labels)
    try tree.write(Array((0..<20).map { "super \($0)\r" }.joined(separator: "\n").utf8), to: "coarse_label_names.txt")
    let named = try CIFAR.load100(tree.path, labelSet: .coarse)
    #expect(named.classNames == (0..<20).map { "super \($0)" })
    #expect(named.files == ["train.bin", "test.bin", "coarse_label_names.txt"].map(tree.file))
}

@Test("CIFAR errors name the file: record length, empty file, label out of range, missing batches, name count")
func cifarErrors() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    expectImageDatasetError(tree.path, .missingFiles((1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"])) {
        _ = try CIFAR.load10(tree.path)
    }
    for b in [1, 2, 4, 5] { try tree.write(CIFARRecords(count: 1, labelBytes: 1, classes: [10], seed: b).bytes, to: "data_batch_\(b).bin") }
    expectImageDatasetError(tree.path, .missingFiles(["data_batch_3.bin", "test_batch.bin"])) { _ = try CIFAR.load10(tree.path) }
    let error = ImageDatasetError(path: "cifar", kind: .missingFiles(["data_batch_3.bin", "test_batch.bin"]))
    #expect(error.description == "cifar: missing files: expected data_batch_3.bin, test_batch.bin")

    try tree.write(CIFARRecords(count: 2, labelBytes: 1, classes: [10], seed: 3).bytes + [1, 2, 3], to: "data_batch_3.bin")
    try tree.write(CIFARRecords(count: 2, labelBytes: 1, classes: [10], seed: 6).bytes, to: "test_batch.bin")
    expectImageDatasetError(tree.file("data_batch_3.bin"),
                            .recordLength(recordBytes: 3073, length: 6149, layout: "1 label byte + 3072 pixel bytes")) {
        _ = try CIFAR.load10(tree.path)
    }
    try tree.write([], to: "data_batch_3.bin")
    expectImageDatasetError(tree.file("data_batch_3.bin"), .noRecords(recordBytes: 3073)) { _ = try CIFAR.load10(tree.path) }
    var bad = CIFARRecords(count: 3, labelBytes: 1, classes: [10], seed: 3).bytes
    bad[2 * 3073] = 10
    try tree.write(bad, to: "data_batch_3.bin")
    expectImageDatasetError(tree.file("data_batch_3.bin"), .labelOutOfRange(record: 2, kind: "label", value: 10, classes: 10)) {
        _ = try CIFAR.load10(tree.path)
    }
    try tree.write(CIFARRecords(count: 1, labelBytes: 1, classes: [10], seed: 3).bytes, to: "data_batch_3.bin")
    try tree.write(Array("cat\ndog\n".utf8), to: "batches.meta.txt")
    expectImageDatasetError(tree.file("batches.meta.txt"), .classNameCount(expected: 10, found: 2)) {
        _ = try CIFAR.load10(tree.path)
    }

    let hundred = try TestTree()
    defer { hundred.remove() }
    try hundred.write(CIFARRecords(count: 2, labelBytes: 2, classes: [20, 100], seed: 1).bytes, to: "train.bin")
    expectImageDatasetError(hundred.path, .missingFiles(["test.bin"])) { _ = try CIFAR.load100(hundred.path, labelSet: .fine) }
    // A CIFAR-10 file under the CIFAR-100 name: 3073-byte records are not 3074-byte ones.
    try hundred.write(CIFARRecords(count: 2, labelBytes: 1, classes: [10], seed: 1).bytes, to: "test.bin")
    expectImageDatasetError(hundred.file("test.bin"),
                            .recordLength(recordBytes: 3074, length: 6146, layout: "2 label bytes + 3072 pixel bytes")) {
        _ = try CIFAR.load100(hundred.path, labelSet: .fine)
    }
    for (offset, kind, value, classes) in [(0, "coarse label", 20, 20), (1, "fine label", 100, 100)] {
        var records = CIFARRecords(count: 2, labelBytes: 2, classes: [20, 100], seed: 1).bytes
        records[3074 + offset] = UInt8(value)
        try hundred.write(records, to: "test.bin")
        expectImageDatasetError(hundred.file("test.bin"), .labelOutOfRange(record: 1, kind: kind, value: value, classes: classes)) {
            _ = try CIFAR.load100(hundred.path, labelSet: .coarse)
        }
    }
}
