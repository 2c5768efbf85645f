import DistillDatasets
import DistillImages
import DistillIO
import DistillRun
import Foundation
import Testing
import _TestSupport
@testable import DistillCLI

/// Issue 12 end to end: PNG trees, CIFAR binaries, colour, `distill convert`,
/// `--test-fraction`. Every fixture is written here.
@Suite(.serialized) struct OwnDataTests {
    // MARK: Fixtures

    /// The first `train` / `test` MNIST images, reordered class by class (stable:
    /// by label, then index), as a PNG tree `tree/train|test/<digit>/<index>.png`
    /// and as the IDX folder `idx` holding the same images in the same order (the
    /// tree's order is class by class, then by file name).
    static func writeMNISTTreeAndIDX(tree: String, idx: String, train: Int, test: Int) throws {
        let mnist = TestSupport.mnistFolder
        try FileManager.default.createDirectory(atPath: idx, withIntermediateDirectories: true)
        for (split, prefix, count) in [("train", "train", train), ("test", "t10k", test)] {
            let images = try IDX.read(contentsOf: "\(mnist)/\(prefix)-images-idx3-ubyte.gz")
            let labels = try IDX.read(contentsOf: "\(mnist)/\(prefix)-labels-idx1-ubyte.gz")
            guard case .ubyte(let pixels) = images.elements, case .ubyte(let classes) = labels.elements else {
                Issue.record("MNIST is not bytes"); return
            }
            let order = (0..<count).sorted { (classes[$0], $0) < (classes[$1], $1) }
            try IDX.write(IDXArray(shape: [count, 28, 28], elements: .ubyte(order.flatMap { pixels[$0 * 784..<($0 + 1) * 784] })),
                          to: "\(idx)/\(prefix)-images-idx3-ubyte")
            try IDX.write(IDXArray(shape: [count], elements: .ubyte(order.map { classes[$0] })),
                          to: "\(idx)/\(prefix)-labels-idx1-ubyte")
            for i in 0..<count {
                let folder = "\(tree)/\(split)/\(classes[i])"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let name = String(repeating: "0", count: 5 - String(i).count) + String(i)
                try PNGImage(width: 28, height: 28, channels: 1, pixels: Array(pixels[i * 784..<(i + 1) * 784]))
                    .write(to: "\(folder)/\(name).png")
            }
        }
    }

    /// A 32x32 RGB image of class `c` (of `classes`), HWC: each class its own colour
    /// with a little seeded noise, so that classes are learnable.
    static func colourImage(class c: Int, classes: Int, seed: Int) -> [UInt8] {
        var state = UInt64(seed &* 7919 &+ c &* 104_729 &+ 1)
        return (0..<(32 * 32)).flatMap { p -> [UInt8] in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Int(state >> 59)  // 0...31
            let base = [40 + 180 * c / max(1, classes - 1), 200 - 150 * c / max(1, classes - 1), p % 32 < 16 ? 60 : 160]
            return base.map { UInt8(min(255, $0 + noise)) }
        }
    }

    /// One CIFAR record: `labels` bytes, then the image's planes (R, G, B) from HWC `image`.
    static func cifarRecord(labels: [UInt8], image: [UInt8]) -> [UInt8] {
        labels + (0..<3).flatMap { k in (0..<1024).map { image[3 * $0 + k] } }
    }

    /// CIFAR-10 batches in `folder`: `perBatch` records in each of the five
    /// training batches and the test batch, classes cycling 0...9, and batches.meta.txt.
    /// Returns the HWC images and labels written, train then test.
    @discardableResult
    static func writeCIFAR10(_ folder: String, perBatch: Int) throws -> (train: [[UInt8]], trainLabels: [Int], test: [[UInt8]], testLabels: [Int]) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var train: [[UInt8]] = [], trainLabels: [Int] = [], test: [[UInt8]] = [], testLabels: [Int] = []
        for batch in 1...6 {
            var bytes: [UInt8] = []
            for r in 0..<perBatch {
                let c = r % 10, image = colourImage(class: c, classes: 10, seed: batch * 1000 + r)
                bytes += cifarRecord(labels: [UInt8(c)], image: image)
                if batch <= 5 { train.append(image); trainLabels.append(c) } else { test.append(image); testLabels.append(c) }
            }
            let name = batch <= 5 ? "data_batch_\(batch).bin" : "test_batch.bin"
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        try (names.joined(separator: "\n") + "\n\n").write(toFile: folder + "/batches.meta.txt", atomically: true, encoding: .utf8)
        return (train, trainLabels, test, testLabels)
    }

    /// CIFAR-100 `train.bin` (`train` records) and `test.bin` (`test` records): coarse
    /// label `r % 20`, fine label `(r * 7) % 100`, and both names files.
    static func writeCIFAR100(_ folder: String, train: Int, test: Int) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, count, seed) in [("train.bin", train, 1), ("test.bin", test, 2)] {
            var bytes: [UInt8] = []
            for r in 0..<count {
                let coarse = r % 20
                bytes += cifarRecord(labels: [UInt8(coarse), UInt8((r * 7) % 100)],
                                     image: colourImage(class: coarse, classes: 20, seed: seed * 5000 + r))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        try (0..<20).map { "superclass-\($0)" }.joined(separator: "\n")
            .write(toFile: folder + "/coarse_label_names.txt", atomically: true, encoding: .utf8)
        try (0..<100).map { "class-\($0)" }.joined(separator: "\n")
            .write(toFile: folder + "/fine_label_names.txt", atomically: true, encoding: .utf8)
    }

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func metrics(_ out: String) throws -> (RunMetrics, [String: Any]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))
        return (try JSONDecoder().decode(RunMetrics.self, from: data),
                try #require(JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }

    static func expectSameArrays(_ a: Dataset, _ b: Dataset) {
        #expect(a.train.pixels == b.train.pixels && a.test.pixels == b.test.pixels)
        #expect(a.train.labels == b.train.labels && a.test.labels == b.test.labels)
        #expect(a.train.scale == b.train.scale && a.shape == b.shape && a.classes == b.classes)
        #expect(a.classNames == b.classNames)
    }

    // MARK: PNG tree = IDX

    /// The same images as a PNG tree and as IDX files load to the same arrays, and
    /// `distill run` (the executable) writes the same bytes from both.
    @Test func aPNGTreeFromMNISTDistilsToTheSameBytesAsItsIDXFiles() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = scratch.path + "/tree", idx = scratch.path + "/idx"
        try Self.writeMNISTTreeAndIDX(tree: tree, idx: idx, train: 1000, test: 300)

        let fromTree = try DatasetSources.load(tree), fromIDX = try DatasetSources.load(idx)
        #expect(fromTree.format == PNGTrainTestSource.format && fromIDX.format == IDXFolderSource.format)
        Self.expectSameArrays(fromTree, fromIDX)
        #expect(fromTree.train.count == 1000 && fromTree.test.count == 300)
        // 1,300 files: one digest, that of `sha256sum` lines in load order.
        let hashes = try fromTree.fileHashes()
        #expect(Array(hashes.keys) == ["sha256sum of 1300 files"])
        var lines = ""
        for file in fromTree.files {
            lines += try SHA256.hex(contentsOf: file) + "  " + String(file.dropFirst(tree.count + 1)) + "\n"
        }
        #expect(hashes.values.first == SHA256.hex(Array(lines.utf8)))

        for (data, out) in [(tree, "/out-tree"), (idx, "/out-idx")] {
            let result = try runDistill(["--data", data, "--out", scratch.path + out, "--steps", "6", "--seed", "3", "--quiet"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        for file in [RunFiles.images, RunFiles.classLabels, RunFiles.softLabels, RunFiles.grid] {
            #expect(try Self.bytes(scratch.path + "/out-tree/" + file) == Self.bytes(scratch.path + "/out-idx/" + file), "\(file)")
        }
        let (treeMetrics, _) = try Self.metrics(scratch.path + "/out-tree"), (idxMetrics, _) = try Self.metrics(scratch.path + "/out-idx")
        #expect(treeMetrics.testAccuracy == idxMetrics.testAccuracy && treeMetrics.trainLoss == idxMetrics.trainLoss)
        #expect(treeMetrics.datasetFormat == "PNG train/test tree" && treeMetrics.classNames == (0..<10).map(String.init))
    }

    // MARK: CIFAR and colour

    /// A CIFAR-10 run end to end: class names from batches.meta.txt in metrics.json,
    /// an RGB distilled.png whose pixels are the distilled images, rank-4 IDX images
    /// that `distill eval` reads back, per-channel readability.
    @Test func aCIFAR10RunIsInColourEndToEnd() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = scratch.path + "/cifar-10-batches-bin", out = scratch.path + "/out"
        try Self.writeCIFAR10(data, perBatch: 20)
        // The archive's folder name is found from its parent too.
        #expect(try DatasetSources.load(scratch.path).format == CIFAR10Source.format)

        let result = try runDistill(["--data", data, "--out", out, "--steps", "4", "--zoom", "2", "--snapshot-every", "2", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let (metrics, json) = try Self.metrics(out)
        #expect(metrics.datasetFormat == "CIFAR-10 binary" && metrics.imageChannels == 3 && metrics.classes == 10)
        #expect(metrics.classNames.first == "airplane" && metrics.classNames.last == "truck")
        #expect(json["test_fraction"] == nil && json["label_set"] == nil)
        let channels = try #require(metrics.readability?.meanChannelCorrelations)
        #expect(channels.count == 3)

        // Rank 4, m x H x W x C.
        let images = try IDX.read(contentsOf: out + "/" + RunFiles.images)
        #expect(images.shape == [10, 32, 32, 3])
        let values = images.doubles()

        // distilled.png through libpng: RGB, and its first cell is image 0 (zoom 2, border 2).
        let grid = try PNGDecoder.read(contentsOf: out + "/" + RunFiles.grid)
        #expect(grid.shape.channels == 3 && grid.shape.bitDepth == 8)
        #expect(grid.shape.width == 10 * 32 * 2 + 11 * 2 && grid.shape.height == 32 * 2 + 2 * 2)
        guard case .uint8(let gridPixels) = grid.samples else { Issue.record("8-bit expected"); return }
        for (x, y) in [(0, 0), (5, 9), (31, 31)] {
            let at = ((2 + 2 * y) * grid.shape.width + (2 + 2 * x)) * 3
            let expected = (0..<3).map { k in UInt8((255 * min(1, max(0, values[(y * 32 + x) * 3 + k]))).rounded(.toNearestOrAwayFromZero)) }
            #expect(Array(gridPixels[at..<at + 3]) == expected)
        }
        let progress = try PNGDecoder.read(contentsOf: out + "/progress.png")
        #expect(progress.shape.channels == 3)
        #expect(try String(contentsOfFile: out + "/report.html", encoding: .utf8).contains("airplane"))

        // eval reads the rank-4 images back and trains the same model to the same accuracy.
        let eval = try DistillCommand.Eval.parse(["--distilled", out, "--data", data])
        let report = try eval.evaluate()
        #expect(report.images == 10 && report.classes == 10)
        #expect(report.testAccuracy >= metrics.testAccuracy - 0.1, "eval \(report.testAccuracy) vs run \(metrics.testAccuracy)")
        #expect(report.readability.meanChannelCorrelations?.count == 3)
    }

    /// CIFAR-100 with `--label-set coarse`: 20 classes named from coarse_label_names.txt,
    /// recorded in metrics.json; fine labels by default; options a format does not take
    /// are one-line errors.
    @Test func aCIFAR100RunUsesTheLabelSetAsked() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = scratch.path + "/c100", out = scratch.path + "/out"
        try Self.writeCIFAR100(data, train: 200, test: 100)
        let fine = try DatasetSources.load(data)
        #expect(fine.classes == 100 && fine.classNames[7] == "class-7" && fine.train.labels[1] == 7)
        let coarse = try DatasetSources.load(data, options: DatasetOptions(labelSet: .coarse))
        #expect(coarse.classes == 20 && coarse.classNames[3] == "superclass-3" && coarse.train.labels[21] == 1)

        let result = try runDistill(["--data", data, "--label-set", "coarse", "--out", out, "--steps", "3", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let (metrics, json) = try Self.metrics(out)
        #expect(metrics.classes == 20 && metrics.labelSet == "coarse" && json["label_set"] as? String == "coarse")
        #expect(metrics.classNames.first == "superclass-0" && metrics.datasetFormat == "CIFAR-100 binary")
        #expect(try IDX.read(contentsOf: out + "/" + RunFiles.images).shape == [20, 32, 32, 3])

        let wrong = try runDistill(["--data", data, "--test-fraction", "0.2", "--out", scratch.path + "/never", "--steps", "1"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr == "error: \(data): --test-fraction 0.2 is for a single class-per-folder PNG tree; expected no --test-fraction for a dataset with its own test split, found a CIFAR-100 binary\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/never"))
    }

    // MARK: --test-fraction

    /// A single class tree needs `--test-fraction`; the split is the seeded stratified
    /// one, recorded in metrics.json and the checkpoint, and `--resume` loads it again.
    @Test func aClassTreeIsSplitByTestFractionAndResumedTheSameWay() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = scratch.path + "/photos", out = scratch.path + "/out"
        let names = ["blue", "green", "red"]
        var labels: [Int] = []
        for (c, name) in names.enumerated() {
            try FileManager.default.createDirectory(atPath: tree + "/" + name, withIntermediateDirectories: true)
            for i in 0..<(10 + 2 * c) {
                let image = Self.colourImage(class: c, classes: 3, seed: 100 * c + i)
                try PNGImage(width: 32, height: 32, channels: 3, pixels: image).write(to: "\(tree)/\(name)/img\(i).png")
                labels.append(c)
            }
        }
        let missing = try runDistill(["--data", tree, "--out", scratch.path + "/never", "--steps", "1"])
        #expect(missing.status == 1 && missing.stderr.hasPrefix("error: \(tree): a single class-per-folder PNG tree has no test split: expected --test-fraction F"))
        #expect(missing.stderr.split(separator: "\n").count == 1)

        let first = try runDistill(["--data", tree, "--test-fraction", "0.25", "--split-seed", "9", "--out", out,
                                    "--steps", "4", "--stop-after-step", "2", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try runDistill(["--resume", out, "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let (metrics, json) = try Self.metrics(out)
        #expect(metrics.steps == 4 && metrics.classNames == names && metrics.datasetFormat == "PNG class tree")
        #expect(json["test_fraction"] as? Double == 0.25 && json["split_seed"] as? Int == 9)

        // The split is StratifiedSplit's, and the same one the options give here.
        let split = try StratifiedSplit.indices(labels: labels, classes: 3, testFraction: 0.25, seed: 9, name: tree)
        let loaded = try DatasetSources.load(tree, options: DatasetOptions(testFraction: 0.25, splitSeed: 9))
        #expect(loaded.train.count == split.train.count && loaded.test.count == split.test.count)
        #expect(loaded.test.labels == split.test.map { Int32(labels[$0]) })
        let other = try DatasetSources.load(tree, options: DatasetOptions(testFraction: 0.25, splitSeed: 10))
        #expect(other.test.count == loaded.test.count && other.test.pixels != loaded.test.pixels)
    }

    // MARK: distill convert

    /// `distill convert` writes CIFAR-10, a colour class tree and an MNIST PNG tree as
    /// IDX folders that load back to the same arrays, class names and split.
    @Test func convertRoundTrips() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let cifar = scratch.path + "/cifar"
        try Self.writeCIFAR10(cifar, perBatch: 10)
        let tree = scratch.path + "/tree", idx = scratch.path + "/idx"
        try Self.writeMNISTTreeAndIDX(tree: tree, idx: idx, train: 100, test: 100)

        for (data, extra) in [(cifar, [String]()), (tree, []), (idx, [])] {
            let out = data + "-converted"
            try DistillCommand.Convert.parse(["--data", data, "--out", out, "--quiet"] + extra).run()
            let original = try DatasetSources.load(data), converted = try DatasetSources.load(out)
            #expect(converted.format == IDXFolderSource.format)
            Self.expectSameArrays(original, converted)
            #expect(try IDX.read(contentsOf: out + "/train-images-idx3-ubyte").shape.count == (original.shape.channels == 1 ? 3 : 4))
            #expect(try String(contentsOfFile: out + "/class-names.txt", encoding: .utf8) == original.classNames.joined(separator: "\n") + "\n")
        }
        // A split class tree: the converted folder holds that split.
        let photos = scratch.path + "/photos"
        for c in 0..<2 {
            try FileManager.default.createDirectory(atPath: "\(photos)/class \(c)", withIntermediateDirectories: true)
            for i in 0..<6 {
                try PNGImage(width: 32, height: 32, channels: 3, pixels: Self.colourImage(class: c, classes: 2, seed: i))
                    .write(to: "\(photos)/class \(c)/\(i).png")
            }
        }
        try DistillCommand.Convert.parse(["--data", photos, "--test-fraction", "0.5", "--split-seed", "4", "--out", photos + "-idx", "--quiet"]).run()
        Self.expectSameArrays(try DatasetSources.load(photos, options: DatasetOptions(testFraction: 0.5, splitSeed: 4)),
                              try DatasetSources.load(photos + "-idx"))
        // Converting onto an IDX dataset is refused, naming the folder.
        #expect { try DistillCommand.Convert.files(try DatasetSources.load(cifar), into: idx) } throws: { error in
            "\(error)" == "error: \(idx): expected a new or empty folder, found an IDX dataset in it; remove it or choose another --out"
        }
        // So is converting into a run's or a sweep's folder: the dataset would be mixed with its outputs.
        let run = scratch.path + "/run", sweep = scratch.path + "/sweep"
        try FileManager.default.createDirectory(atPath: run + "/checkpoint", withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: run + "/metrics.json"))
        try FileManager.default.createDirectory(atPath: sweep + "/ipc-1", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: sweep + "/sweep.csv"))
        #expect { try DistillCommand.Convert.files(try DatasetSources.load(cifar), into: run) } throws: { error in
            "\(error)" == "error: \(run): expected a new or empty folder, found a run's outputs (metrics.json, checkpoint); choose another --out"
        }
        #expect { try DistillCommand.Convert.files(try DatasetSources.load(cifar), into: sweep) } throws: { error in
            "\(error)" == "error: \(sweep): expected a new or empty folder, found a sweep's outputs (sweep.csv, ipc-1); choose another --out"
        }
        #expect(!FileManager.default.fileExists(atPath: run + "/train-images-idx3-ubyte"))
    }
}
