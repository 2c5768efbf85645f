import Testing
@testable import DistillIO

@Test("the stratified split: per-class counts, disjoint and complete, deterministic, seed-dependent")
func stratifiedSplit() throws {
    // Classes of 10, 3, 2 and 7 items, interleaved.
    var labels: [Int] = []
    for (label, count) in [10, 3, 2, 7].enumerated() { labels += repeatElement(label, count: count) }
    labels = labels.enumerated().sorted { ($0.offset * 7919) % 22 < ($1.offset * 7919) % 22 }.map(\.element)
    let split = try StratifiedSplit.indices(labels: labels, classes: 4, testFraction: 0.25, seed: 7, name: "tree")
    #expect(Set(split.train).isDisjoint(with: split.test))
    #expect((split.train + split.test).sorted() == Array(labels.indices))
    #expect(split.train == split.train.sorted() && split.test == split.test.sorted())
    // round(0.25 n), clamped to 1...n-1: 10 -> 3 (2.5 rounds away from zero), 3 -> 1, 2 -> 1, 7 -> 2.
    var testCounts = [0, 0, 0, 0]
    for i in split.test { testCounts[labels[i]] += 1 }
    #expect(testCounts == [3, 1, 1, 2])
    let again = try StratifiedSplit.indices(labels: labels, classes: 4, testFraction: 0.25, seed: 7, name: "tree")
    #expect(again.test == split.test)
    var differs = false
    for seed in 8..<20 {
        let other = try StratifiedSplit.indices(labels: labels, classes: 4, testFraction: 0.25, seed: UInt64(seed), name: "tree")
        differs = differs || other.test != split.test
    }
    #expect(differs)
}

@Test("SplitMix64 matches the reference implementation's first outputs for seed 0")
func splitMix64Reference() {
    // From the reference C code (Vigna, prng.di.unimi.it/splitmix64.c) with x = 0.
    var generator = SplitMix64(seed: 0)
    #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
    #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
}

@Test("split errors: a fraction outside (0, 1), a class with one image")
func splitErrors() throws {
    let nan = #expect(throws: ImageDatasetError.self) {
        _ = try StratifiedSplit.indices(labels: [0, 0, 1, 1], classes: 2, testFraction: .nan, seed: 1, name: "tree")
    }
    #expect(nan?.description == "tree: test fraction nan: expected a number strictly between 0 and 1")
    for fraction in [0.0, 1.0, -0.5, 1.5] {
        expectImageDatasetError("tree", .testFraction(fraction)) {
            _ = try StratifiedSplit.indices(labels: [0, 0, 1, 1], classes: 2, testFraction: fraction, seed: 1, name: "tree")
        }
    }
    expectImageDatasetError("tree/b", .tooFewToSplit(count: 1)) {
        _ = try StratifiedSplit.indices(labels: [0, 0, 1], classes: 2, testFraction: 0.5, seed: 1, name: "tree",
                                        classPaths: ["tree/a", "tree/b"])
    }
}

@Test("a loaded class tree splits into train and test sets holding the right images")
func collectionSplit() throws {
    let tree = try TestTree()
    defer { tree.remove() }
    var all: [[UInt16]] = []
    for (label, name) in ["a", "b"].enumerated() {
        for i in 0..<4 {
            let png = TestPNG(width: 2, height: 2, colorType: .grey, bitDepth: 8,
                              samples: testSamples(count: 4, maximum: 255, seed: 10 * label + i + 3))
            try tree.write(png.encoded(), to: "\(name)/\(i).png")
            all.append(png.expected())
        }
    }
    let collection = try ImageFolderTree.loadClasses(tree.path)
    let dataset = try collection.split(testFraction: 0.5, seed: 42)
    let (train, test) = try StratifiedSplit.indices(labels: collection.images.labels, classes: 2,
                                                    testFraction: 0.5, seed: 42, name: tree.path)
    #expect(dataset.train.samples == .uint8(train.flatMap { all[$0].map(UInt8.init) }))
    #expect(dataset.test.samples == .uint8(test.flatMap { all[$0].map(UInt8.init) }))
    #expect(dataset.train.labels == train.map { $0 / 4 } && dataset.test.labels == test.map { $0 / 4 })
    #expect(dataset.train.classCounts(classes: 2) == [2, 2])
    #expect(dataset.classNames == ["a", "b"] && dataset.files == collection.files)
    expectImageDatasetError(tree.path, .testFraction(1)) { _ = try collection.split(testFraction: 1, seed: 1) }
}
