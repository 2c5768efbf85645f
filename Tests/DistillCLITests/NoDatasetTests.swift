import DistillIO
import Foundation
import Testing

/// `--data` naming a folder that holds no dataset says so (issue 11, messages:
/// one line naming the folder, what was expected and what was found). `distill
/// run --data /tmp` used to say "a single class-per-folder PNG tree has no test
/// split" because one of its many subfolders held a PNG. Real folders, built
/// here, through the real `distill` executable.
@Suite struct NoDatasetTests {
    /// What every such message lists as expected: each format and its layout.
    static let expected = "no dataset found: expected one of: IDX folder (MNIST-named IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or .gz); PNG train/test tree (train/<class>/*.png and test/<class>/*.png); PNG class tree (<class>/*.png, split with --test-fraction); CIFAR-10 binary (data_batch_1.bin ... data_batch_5.bin and test_batch.bin, or a cifar-10-batches-bin folder of them); CIFAR-100 binary (train.bin and test.bin, or a cifar-100-binary folder of them); found "

    static func png(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try PNGImage(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 128, count: 16)).write(to: path)
    }

    static func file(_ path: String, _ text: String = "x") throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Runs `distill run --data folder` and checks that it fails with `message` alone, creating no --out.
    static func expectRefused(_ folder: String, _ message: String, arguments: [String] = [],
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = folder + "-out"
        let result = try runDistill(["--data", folder, "--out", out, "--steps", "1", "--quiet"] + arguments)
        #expect(result.status == 1, sourceLocation: sourceLocation)
        #expect(result.stderr == "error: " + message + "\n", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: out), sourceLocation: sourceLocation)
    }

    @Test func anEmptyFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let folder = scratch.path + "/empty"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Self.expectRefused(folder, "\(folder): " + Self.expected + "an empty folder")
    }

    @Test func unrelatedFilesAndFolders() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let folder = scratch.path + "/project"
        try Self.file(folder + "/notes.txt")
        try Self.file(folder + "/setup.json", "{}")
        try Self.file(folder + "/src/main.c")
        try Self.file(folder + "/docs/readme.md")
        try Self.file(folder + "/.hidden")
        try Self.expectRefused(folder, "\(folder): " + Self.expected + "4 entries (2 files, 2 folders), none of them a .png image or a dataset file")
    }

    /// A few pictures among many unrelated folders (a home or temporary folder) are not a class tree.
    @Test func aFewPicturesAmongUnrelatedFolders() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let folder = scratch.path + "/tmp"
        try Self.png(folder + "/screenshots/one.png")
        try Self.png(folder + "/logo.png")
        for name in ["build", "cache", "downloads", "mail"] { try Self.file(folder + "/" + name + "/file") }
        try Self.expectRefused(folder, "\(folder): " + Self.expected
                               + "6 entries (1 file, 5 folders): 1 .png file directly in it rather than in class folders; 1 of its 5 folders holds .png files (screenshots), too few for a class-per-folder tree")
    }

    /// The nearest partial matches: a train/ tree without test/, IDX test files without training images.
    @Test func partialMatchesAreNamed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let half = scratch.path + "/half"
        try Self.png(half + "/train/cat/1.png")
        try Self.png(half + "/train/dog/1.png")
        try Self.expectRefused(half, "\(half): " + Self.expected
                               + "1 entry, the folder train: train/ holds class folders of .png files but there is no test/ folder")
        let idx = scratch.path + "/idx"
        try FileManager.default.createDirectory(atPath: idx, withIntermediateDirectories: true)
        try IDX.write(IDXArray(shape: [2, 2, 2], elements: .ubyte([UInt8](repeating: 0, count: 8))), to: idx + "/t10k-images-idx3-ubyte")
        try IDX.write(IDXArray(shape: [2], elements: .ubyte([0, 1])), to: idx + "/t10k-labels-idx1-ubyte")
        try Self.expectRefused(idx, "\(idx): " + Self.expected
                               + "2 entries (2 files, 0 folders): IDX-named files (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte) but no train-images-idx3-ubyte[.gz]")
    }

    /// A genuine single tree keeps its own messages: no test split without
    /// --test-fraction; with it, an empty class folder is named.
    @Test func aGenuineSingleTreeKeepsItsOwnMessages() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = scratch.path + "/photos"
        for name in ["cat", "dog"] { for i in 0..<4 { try Self.png("\(tree)/\(name)/\(i).png") } }
        try FileManager.default.createDirectory(atPath: tree + "/fox", withIntermediateDirectories: true)
        try Self.expectRefused(tree, "\(tree): a single class-per-folder PNG tree has no test split: expected --test-fraction F (e.g. 0.2) to hold out that fraction of each class, or train/ and test/ folders, found neither")
        try Self.expectRefused(tree, "\(tree)/fox: expected .png files in the class folder, found none", arguments: ["--test-fraction", "0.5"])
    }
}
