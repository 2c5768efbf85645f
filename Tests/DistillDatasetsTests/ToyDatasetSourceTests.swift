import Distill
import DistillDatasets
import DistillImages
import Foundation
import Testing

// docs/adding-a-dataset-format.md, followed step by step: a format written here
// alone, with nothing else in the package changed.

/// Step 2: a folder holding `toy.csv`, one image a line: `split,label,v1,...,vk`
/// (split `train` or `test`, values in [0, 1], k the same on every line).
private struct ToyCSVSource: DatasetSource {
    static let format = "toy CSV folder"
    static let layout = "a folder holding toy.csv"
    let path: String

    init(path: String) { self.path = path }

    static func recognises(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/toy.csv")
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    func load() throws -> Dataset {
        let file = path + "/toy.csv"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw Malformed(description: "\(file): cannot read the file")
        }
        var values: [String: [Float]] = [:], labels: [String: [Int32]] = [:]
        var width: Int?
        for (number, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: ",").map(String.init)
            guard fields.count >= 3, ["train", "test"].contains(fields[0]), let label = Int32(fields[1]), label >= 0,
                  width == nil || fields.count - 2 == width else {
                throw Malformed(description: "\(file): line \(number + 1): expected split,label,values with the same number of values on every line, found \(line)")
            }
            width = fields.count - 2
            labels[fields[0], default: []].append(label)
            for field in fields.dropFirst(2) {
                guard let v = Float(field), v.isFinite else {
                    throw Malformed(description: "\(file): line \(number + 1): expected numbers, found \(field)")
                }
                values[fields[0], default: []].append(v)
            }
        }
        let classes = Int((labels.values.flatMap { $0 }.max() ?? 0) + 1)
        let shape = ImageShape(height: 1, width: width ?? 0)
        func split(_ name: String) -> LabeledImages {
            LabeledImages(pixels: .floats(values[name] ?? []), scale: 1, labels: labels[name] ?? [], shape: shape, classes: classes)
        }
        return Dataset(location: path, format: Self.format, train: split("train"), test: split("test"),
                       classNames: (0..<classes).map { "class \($0)" }, files: [file])
    }
}

@Suite struct ToyDatasetSourceTests {
    /// Step 4: written by the test, found by the one load path, read back exactly,
    /// and distilled from.
    @Test func theToySourceLoadsThroughTheOneLoadPathAndDistils() throws {
        let folder = NSTemporaryDirectory() + "distill-toy-source-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var lines: [String] = []
        for i in 0..<60 {
            let label = i % 2
            let image = (0..<8).map { k in (k < 4) == (label == 0) ? "0.9" : "0.1" }
            lines.append("\(i < 40 ? "train" : "test"),\(label)," + image.joined(separator: ","))
        }
        try lines.joined(separator: "\n").write(toFile: folder + "/toy.csv", atomically: true, encoding: .utf8)

        let formats: [any DatasetSource.Type] = DatasetSources.formats + [ToyCSVSource.self]
        #expect(DatasetSources.source(for: folder, formats: formats) is ToyCSVSource)
        let dataset = try DatasetSources.load(folder, formats: formats)
        #expect(dataset.format == "toy CSV folder" && dataset.train.count == 40 && dataset.test.count == 20)
        #expect(dataset.classes == 2 && dataset.shape == ImageShape(height: 1, width: 8))
        #expect(dataset.train.image(0) == [0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1].map { Double(Float($0)) })
        #expect(try dataset.fileHashes().keys.sorted() == ["toy.csv"])

        var configuration = DistillerConfiguration()
        configuration.steps = 5
        configuration.threads = 1
        var distiller = try Distiller(train: dataset.train, configuration: configuration)
        for _ in 0..<5 { _ = distiller.step(clock: { 0 }) }
        let fit = distiller.solveInner()
        #expect(distiller.evaluate(fit, on: dataset.test).accuracy == 1)
    }

    /// A folder no format in the list recognises: one line listing each format
    /// of the list with its layout (the toy's too, when it is listed), and what
    /// the folder holds.
    @Test func anUnrecognisedFolderListsTheFormatsLookedFor() throws {
        let folder = NSTemporaryDirectory() + "distill-toy-empty-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect { try DatasetSources.load(folder) } throws: { error in
            "\(error)".hasPrefix(folder + ": no dataset found: expected one of: IDX folder (MNIST-named IDX files: train-images-idx3-ubyte")
                && "\(error)".hasSuffix("; found an empty folder")
        }
        #expect { try DatasetSources.load(folder, formats: [ToyCSVSource.self]) } throws: { error in
            "\(error)" == folder + ": no dataset found: expected one of: \(ToyCSVSource.format) (\(ToyCSVSource.layout)); found an empty folder"
        }
    }
}
