import Foundation
import Testing
@testable import DistillIO

@Test("a PNG tree made from an MNIST subset loads to exactly the bytes of the IDX files it was made from")
func mnistTree() throws {
    let mnist = try DatasetFolder.load(packageRoot() + "/data/mnist")
    guard case .bytes(let trainPixels) = mnist.train.pixels, case .bytes(let testPixels) = mnist.test.pixels else {
        Issue.record("MNIST pixels should be bytes")
        return
    }
    let tree = try TestTree()
    defer { tree.remove() }
    let take = (train: 300, test: 200)
    // The IDX images of each split, class by class in index order (the tree's order).
    var expected: [String: (pixels: [UInt8], labels: [Int])] = [:]
    for (split, pixels, labels, count) in [("train", trainPixels, mnist.train.labels, take.train),
                                           ("test", testPixels, mnist.test.labels, take.test)] {
        let order = (0..<count).sorted { (labels[$0], $0) < (labels[$1], $1) }
        expected[split] = (order.flatMap { pixels[$0 * 784..<($0 + 1) * 784] }, order.map { Int(labels[$0]) })
        for i in 0..<count {
            let image = try PNGImage(width: 28, height: 28, channels: 1, pixels: Array(pixels[i * 784..<(i + 1) * 784]))
            let name = String(repeating: "0", count: 5 - String(i).count) + String(i)
            try tree.write(image.encoded(nameForErrors: name), to: "\(split)/\(labels[i])/\(name).png")
        }
    }
    #expect(Set(expected["test"]!.labels).count == 10)
    let detected = try DatasetFormat.detect(tree.path)
    #expect(detected.format == .pngTrainTest)
    let dataset = try ImageFolderTree.loadTrainTest(tree.path)
    #expect(dataset.classNames == (0..<10).map(String.init))
    #expect(dataset.train.samples == .uint8(expected["train"]!.pixels))
    #expect(dataset.train.labels == expected["train"]!.labels)
    #expect(dataset.test.samples == .uint8(expected["test"]!.pixels))
    #expect(dataset.test.labels == expected["test"]!.labels)
    #expect((dataset.train.height, dataset.train.width, dataset.train.channels) == (28, 28, 1))
    #expect(dataset.files.count == take.train + take.test)
}
