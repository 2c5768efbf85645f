import Foundation
import Testing
@testable import DistillIO

@Test("each layout is recognised by its files and folders, not by a flag")
func detection() throws {
    let png = TestPNG(width: 2, height: 2, colorType: .grey, bitDepth: 8, samples: [0, 1, 2, 3]).encoded()
    func detect(_ build: (TestTree) throws -> Void) throws -> DatasetFormat.Detection {
        let tree = try TestTree()
        defer { tree.remove() }
        try build(tree)
        let found = try DatasetFormat.detect(tree.path)
        return DatasetFormat.Detection(format: found.format, path: String(found.path.dropFirst(tree.path.count)))
    }
    let idx = IDX.encode(try IDXArray(shape: [1, 2, 2], elements: .ubyte([1, 2, 3, 4])))
    #expect(try detect { try $0.write(idx, to: "train-images-idx3-ubyte") }.format == .idx)
    #expect(try detect { try $0.write(gzipped(idx), to: "train-images.idx3-ubyte.gz") }.format == .idx)
    #expect(try detect { try $0.write([9], to: "data_batch_1.bin") }.format == .cifar10)
    #expect(try detect { try $0.write([9], to: "test_batch.bin") }.format == .cifar10)
    #expect(try detect { try $0.write([9], to: "train.bin") }.format == .cifar100)
    #expect(try detect { try $0.write([9], to: "cifar-10-batches-bin/test_batch.bin") }
        == DatasetFormat.Detection(format: .cifar10, path: "/cifar-10-batches-bin"))
    #expect(try detect { try $0.write([9], to: "cifar-100-binary/test.bin") }
        == DatasetFormat.Detection(format: .cifar100, path: "/cifar-100-binary"))
    #expect(try detect { t in
        try t.write(png, to: "train/a/1.png")
        try t.write(png, to: "test/a/1.png")
    } == DatasetFormat.Detection(format: .pngTrainTest, path: ""))
    // Classes that happen to be called "train" but no "test": a single tree.
    #expect(try detect { t in
        try t.write(png, to: "train/1.png")
        try t.write(png, to: "other/1.png")
    }.format == .pngClasses)
    #expect(try detect { try $0.write(png, to: "cat/x.PNG") }.format == .pngClasses)
}

@Test("an unrecognised folder is one line saying what was looked for")
func unrecognised() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    try tree.write([1], to: "a/photo.jpg")
    try tree.write([1], to: "notes.txt")
    // A file named like IDX that is not IDX (text): not taken for an IDX folder.
    try tree.write(Array("hello".utf8), to: "train-images-idx3-ubyte")
    let error = #expect(throws: ImageDatasetError.self) { _ = try DatasetFormat.detect(tree.path) }
    guard let error else { return }
    #expect(error.path == tree.path)
    #expect(!error.description.contains("\n"))
    #expect(error.description.hasPrefix(tree.path + ": no dataset found: expected IDX files"))
    #expect(error.description.hasSuffix("found 3 entries (2 files, 1 folder): train-images-idx3-ubyte does not start like an IDX file (00 00 type rank) or gzip (1f 8b): its first bytes are 68 65 6c 6c"))
    expectImageDatasetError(tree.file("nowhere"), .notFound) { _ = try DatasetFormat.detect(tree.file("nowhere")) }
    expectImageDatasetError(tree.file("notes.txt"), .notAFolder) { _ = try DatasetFormat.detect(tree.file("notes.txt")) }
}
