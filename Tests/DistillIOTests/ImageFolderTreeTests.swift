import Foundation
import Testing
@testable import DistillIO

/// An 8-bit RGB-output PNG of 4x3 pixels in `type`, with `seed`'s samples.
private func rgbPNG(_ type: TestPNG.ColorType, seed: Int, width: Int = 4, height: Int = 3) -> TestPNG {
    var png = TestPNG(width: width, height: height, colorType: type, bitDepth: 8,
                      samples: testSamples(count: width * height * type.samples,
                                           maximum: type == .palette ? 3 : 255, seed: seed))
    if type == .palette {
        png.palette = [(1, 2, 3), (200, 100, 50), (0, 255, 0), (9, 9, 9)]
        png.paletteAlpha = [255, 128]
    }
    return png
}

@Test("a class-per-folder tree: byte-ordered class names, file order, mixed colour types to RGB, exact samples")
func singleTree() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    // Byte order: "B" (0x42) < "a" (0x61) < "b" < "é" (0xC3 0xA9).
    let layout: [(String, [(String, TestPNG)])] = [
        ("b", [("2.png", rgbPNG(.rgb, seed: 1)), ("10.PNG", rgbPNG(.rgba, seed: 2))]),
        ("a", [("x.png", rgbPNG(.palette, seed: 3))]),
        ("B", [("z.png", rgbPNG(.rgb, seed: 4)), ("y.png", rgbPNG(.palette, seed: 5)), ("Y.png", rgbPNG(.rgba, seed: 6))]),
        ("é", [("1.png", rgbPNG(.rgb, seed: 7))]),
    ]
    for (folder, files) in layout {
        for (name, png) in files { try tree.write(png.encoded(), to: "\(folder)/\(name)") }
    }
    // Ignored: files at the root, hidden folders and files, non-PNG files, nested folders.
    try tree.write(Array("notes".utf8), to: "README.md")
    try tree.write(rgbPNG(.rgb, seed: 9).encoded(), to: ".hidden/h.png")
    try tree.write(Array("x".utf8), to: "a/.DS_Store")
    try tree.write(Array("x".utf8), to: "a/labels.txt")
    try tree.write(rgbPNG(.rgb, seed: 10).encoded(), to: "a/nested/n.png")

    let loaded = try ImageFolderTree.loadClasses(tree.path)
    #expect(loaded.classNames == ["B", "a", "b", "é"])
    let order = [("B", "Y.png"), ("B", "y.png"), ("B", "z.png"), ("a", "x.png"), ("b", "10.PNG"), ("b", "2.png"), ("é", "1.png")]
    #expect(loaded.files == order.map { tree.file("\($0.0)/\($0.1)") })
    #expect(loaded.images.labels == [0, 0, 0, 1, 2, 2, 3])
    #expect(loaded.classFolders == loaded.classNames.map { tree.file($0) })
    let pngs = Dictionary(uniqueKeysWithValues: layout.flatMap { folder, files in files.map { ("\(folder)/\($0.0)", $0.1) } })
    let expected = order.flatMap { pngs["\($0.0)/\($0.1)"]!.expected().map(UInt8.init) }
    #expect(loaded.images.samples == .uint8(expected))
    #expect((loaded.images.count, loaded.images.height, loaded.images.width, loaded.images.channels) == (7, 3, 4, 3))
}

@Test("train/test trees: same classes in both, exact samples, 16-bit grey kept 16-bit")
func trainTestTree() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    var expectedTrain: [UInt16] = [], expectedTest: [UInt16] = []
    for (split, counts) in [("train", [3, 2]), ("test", [1, 2])] {
        for (label, name) in ["cat", "dog"].enumerated() {
            for i in 0..<counts[label] {
                let png = TestPNG(width: 5, height: 2, colorType: .greyAlpha, bitDepth: 16,
                                  samples: testSamples(count: 20, maximum: 65535, seed: 100 * label + 10 * i + split.count))
                try tree.write(png.encoded(), to: "\(split)/\(name)/\(i).png")
                if split == "train" { expectedTrain += png.expected() } else { expectedTest += png.expected() }
            }
        }
    }
    let dataset = try ImageFolderTree.loadTrainTest(tree.path)
    #expect(dataset.classNames == ["cat", "dog"])
    #expect(dataset.train.labels == [0, 0, 0, 1, 1])
    #expect(dataset.test.labels == [0, 1, 1])
    #expect(dataset.train.samples == .uint16(expectedTrain))
    #expect(dataset.test.samples == .uint16(expectedTest))
    #expect((dataset.train.height, dataset.train.width, dataset.train.channels) == (2, 5, 1))
    #expect(dataset.files.count == 8)
    #expect(dataset.files.first == tree.file("train/cat/0.png"))
    #expect(dataset.files.last == tree.file("test/dog/1.png"))
}

@Test("tree errors name the folder or file: no classes, one class, empty class, class missing from a split")
func treeLayoutErrors() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    let png = rgbPNG(.rgb, seed: 1).encoded()
    expectImageDatasetError(tree.file("nowhere"), .notFound) { _ = try ImageFolderTree.loadClasses(tree.file("nowhere")) }
    try tree.write(png, to: "loose.png")
    expectImageDatasetError(tree.path, .noClassFolders) { _ = try ImageFolderTree.loadClasses(tree.path) }
    expectImageDatasetError(tree.file("loose.png"), .notAFolder) { _ = try ImageFolderTree.loadClasses(tree.file("loose.png")) }
    try tree.write(png, to: "a/1.png")
    expectImageDatasetError(tree.path, .tooFewClasses(1)) { _ = try ImageFolderTree.loadClasses(tree.path) }
    try tree.write(Array("x".utf8), to: "b/readme.txt")
    expectImageDatasetError(tree.file("b"), .noImages) { _ = try ImageFolderTree.loadClasses(tree.path) }

    let split = try TestTree()
    defer { split.remove() }
    for name in ["train/a/1.png", "train/b/1.png", "train/c/1.png", "test/a/1.png", "test/c/1.png"] {
        try split.write(png, to: name)
    }
    expectImageDatasetError(split.file("test"), .classMissing(name: "b", otherSplit: split.file("train"))) {
        _ = try ImageFolderTree.loadTrainTest(split.path)
    }
    try split.write(png, to: "test/b/1.png")
    try split.write(png, to: "test/d/1.png")
    expectImageDatasetError(split.file("train"), .classMissing(name: "d", otherSplit: split.file("test"))) {
        _ = try ImageFolderTree.loadTrainTest(split.path)
    }
    try FileManager.default.removeItem(atPath: split.file("test"))
    expectImageDatasetError(split.file("test"), .notFound) { _ = try ImageFolderTree.loadTrainTest(split.path) }
}

@Test("the first file of another size, channel count or depth is named; damaged and unreadable files are named")
func treeFileErrors() throws {
    let first = StoredImageShape(height: 3, width: 4, channels: 3, bitDepth: 8)
    let others: [(TestPNG, StoredImageShape)] = [
        (rgbPNG(.rgb, seed: 2, width: 3, height: 4), StoredImageShape(height: 4, width: 3, channels: 3, bitDepth: 8)),
        (TestPNG(width: 4, height: 3, colorType: .grey, bitDepth: 8, samples: testSamples(count: 12, maximum: 255, seed: 3)),
         StoredImageShape(height: 3, width: 4, channels: 1, bitDepth: 8)),
        (TestPNG(width: 4, height: 3, colorType: .rgb, bitDepth: 16, samples: testSamples(count: 36, maximum: 65535, seed: 4)),
         StoredImageShape(height: 3, width: 4, channels: 3, bitDepth: 16)),
    ]
    for (other, shape) in others {
        let tree = try TestTree()
        defer { tree.remove() }
        for name in ["a/1.png", "a/2.png", "b/1.png", "b/3.png"] { try tree.write(rgbPNG(.rgb, seed: 1).encoded(), to: name) }
        // Two odd files: the first in load order is named, not the other.
        try tree.write(other.encoded(), to: "b/2.png")
        try tree.write(other.encoded(), to: "b/4.png")
        expectImageDatasetError(tree.file("b/2.png"), .shapeMismatch(expected: first, found: shape, firstPath: tree.file("a/1.png"))) {
            _ = try ImageFolderTree.loadClasses(tree.path)
        }
    }
    let tree = try TestTree()
    defer { tree.remove() }
    for name in ["a/1.png", "b/1.png", "b/3.png"] { try tree.write(rgbPNG(.rgb, seed: 1).encoded(), to: name) }
    let good = rgbPNG(.rgb, seed: 1).encoded()
    try tree.write(Array(good[..<(good.count - 20)]), to: "b/2.png")
    let error = #expect(throws: ImageDatasetError.self) { _ = try ImageFolderTree.loadClasses(tree.path) }
    #expect(error?.path == tree.file("b/2.png"))
    #expect(error?.description.hasPrefix(tree.file("b/2.png") + ": expected a PNG image") == true)
    try FileManager.default.removeItem(atPath: tree.file("b/2.png"))
    try FileManager.default.createSymbolicLink(atPath: tree.file("b/2.png"), withDestinationPath: tree.file("gone.png"))
    expectImageDatasetError(tree.file("b/2.png"), .notFound) { _ = try ImageFolderTree.loadClasses(tree.path) }
    try FileManager.default.removeItem(atPath: tree.file("b/2.png"))
    try tree.makeFolder("b/2.png")
    expectImageDatasetError(tree.file("b/2.png"), .isAFolder) { _ = try ImageFolderTree.loadClasses(tree.path) }
}

@Test("an image of another size is said as width and height, named: 28 wide x 20 high, as `file` says 28 x 20")
func shapeSaysWhichIsWidth() throws {
    #expect(StoredImageShape(height: 20, width: 28, channels: 1, bitDepth: 8).description == "28 wide x 20 high grey 8-bit")
    let tree = try TestTree()
    defer { tree.remove() }
    let square = TestPNG(width: 28, height: 28, colorType: .grey, bitDepth: 8, samples: testSamples(count: 28 * 28, maximum: 255, seed: 1))
    let wide = TestPNG(width: 28, height: 20, colorType: .grey, bitDepth: 8, samples: testSamples(count: 28 * 20, maximum: 255, seed: 2))
    for name in ["a/1.png", "b/1.png"] { try tree.write(square.encoded(), to: name) }
    try tree.write(wide.encoded(), to: "b/2.png")
    let error = #expect(throws: ImageDatasetError.self) { _ = try ImageFolderTree.loadClasses(tree.path) }
    #expect(error?.description == "\(tree.file("b/2.png")): expected a 28 wide x 28 high grey 8-bit image (as \(tree.file("a/1.png"))), found 28 wide x 20 high grey 8-bit; images are never resized")
}
