import Distill
import DistillIO
import DistillNumerics
import Foundation

/// A run's full state on disk, in `<out>/checkpoint/`: enough to continue it
/// bit for bit. Arrays are IDX float64 files (exact); the rest is
/// `checkpoint.json`. The whole set is written atomically.
struct Checkpoint {
    static let folderName = "checkpoint"
    static let formatVersion = 1

    /// What `checkpoint.json` holds.
    struct Manifest: Codable {
        var formatVersion: Int
        var distillVersion: String
        /// The dataset folder and the SHA-256 of each of its files as stored.
        var data: String
        var dataFiles: [String: String]
        var configuration: DistillerConfiguration
        var step: Int
        var l2: Double
        var optimisers: [String: OptimiserScalars]
        var hasWarmWeights: Bool
        var hasWarmAdjoint: Bool
        var history: [StepRecord]
    }

    /// Adam's scalar state (its moment vectors are IDX files).
    struct OptimiserScalars: Codable {
        var learningRate: Double
        var beta1: Double
        var beta2: Double
        var epsilon: Double
        var stepCount: Int
    }

    let manifest: Manifest
    let state: Distiller.State

    static func folder(in out: String) -> String { out + "/" + folderName }

    /// Writes the checkpoint of `distiller` into `<out>/checkpoint/`.
    static func write(_ distiller: Distiller, history: [StepRecord], data: String, dataFiles: [String: String],
                      to out: String) throws {
        let folder = Self.folder(in: out)
        try OutputFile.createDirectory(folder)
        let state = distiller.state
        let optimisers = ["images": state.imageOptimiser, "labels": state.labelOptimiser, "l2": state.l2Optimiser]
        let manifest = Manifest(
            formatVersion: formatVersion, distillVersion: DistillVersion.current, data: data, dataFiles: dataFiles,
            configuration: distiller.configuration, step: state.step, l2: state.l2,
            optimisers: optimisers.mapValues {
                OptimiserScalars(learningRate: $0.learningRate, beta1: $0.beta1, beta2: $0.beta2, epsilon: $0.epsilon, stepCount: $0.stepCount)
            },
            hasWarmWeights: state.warmWeights != nil, hasWarmAdjoint: state.warmAdjoint != nil, history: history)
        var files: [(String, [UInt8])] = []
        func add(_ name: String, _ values: [Double], shape: [Int]) throws {
            files.append((folder + "/" + name, IDX.encode(try IDXArray(shape: shape, elements: .float64(values)))))
        }
        try add("images-idx2-double", state.images.values, shape: [state.images.rows, state.images.columns])
        try add("labels-idx2-double", state.labels.values, shape: [state.labels.rows, state.labels.columns])
        for (name, adam) in optimisers {
            try add("\(name)-moment1-idx1-double", adam.firstMoment, shape: [adam.firstMoment.count])
            try add("\(name)-moment2-idx1-double", adam.secondMoment, shape: [adam.secondMoment.count])
        }
        if let w = state.warmWeights { try add("warm-weights-idx2-double", w.values, shape: [w.rows, w.columns]) }
        if let v = state.warmAdjoint { try add("warm-adjoint-idx1-double", v, shape: [v.count]) }
        let encoder = JSONEncoder.total()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        files.append((folder + "/checkpoint.json", Array(try encoder.encode(manifest))))
        try OutputFile.write(files)
    }

    /// Reads the checkpoint in `<out>/checkpoint/`.
    static func read(from out: String) throws(CLIError) -> Checkpoint {
        let folder = Self.folder(in: out)
        let manifestPath = folder + "/checkpoint.json"
        let manifest: Manifest
        do {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
            manifest = try JSONDecoder.total().decode(Manifest.self, from: bytes)
        } catch let error as DecodingError {
            throw CLIError("\(manifestPath): not a Distill checkpoint (\(error.shortDescription))")
        } catch {
            throw CLIError("\(manifestPath): cannot read the checkpoint (\(error.localizedDescription)); is \(out) the --out folder of an earlier run?")
        }
        guard manifest.formatVersion == formatVersion else {
            throw CLIError("\(manifestPath): checkpoint format \(manifest.formatVersion), expected \(formatVersion)")
        }
        func array(_ name: String, count: Int) throws(CLIError) -> [Double] {
            let path = folder + "/" + name
            let values: [Double]
            do { values = try IDX.read(contentsOf: path).doubles() } catch { throw CLIError(error) }
            guard values.count == count else {
                throw CLIError("\(path): expected \(count) values, found \(values.count)")
            }
            return values
        }
        func optimiser(_ name: String, count: Int) throws(CLIError) -> Adam {
            guard let scalars = manifest.optimisers[name] else { throw CLIError("\(manifestPath): no state for the \(name) optimiser") }
            var adam = Adam(count: count, learningRate: scalars.learningRate, beta1: scalars.beta1, beta2: scalars.beta2, epsilon: scalars.epsilon)
            adam.firstMoment = try array("\(name)-moment1-idx1-double", count: count)
            adam.secondMoment = try array("\(name)-moment2-idx1-double", count: count)
            adam.stepCount = scalars.stepCount
            return adam
        }
        let c = manifest.configuration
        // Shapes come from the saved arrays themselves; the distiller checks them against the data on restore.
        let imagesArray: IDXArray, labelsArray: IDXArray
        do {
            imagesArray = try IDX.read(contentsOf: folder + "/images-idx2-double")
            labelsArray = try IDX.read(contentsOf: folder + "/labels-idx2-double")
        } catch { throw CLIError(error) }
        guard imagesArray.shape.count == 2, labelsArray.shape.count == 2, imagesArray.shape[0] == labelsArray.shape[0] else {
            throw CLIError("\(folder): images \(imagesArray.shape) and labels \(labelsArray.shape) are not m x p and m x C")
        }
        let images = Matrix(rows: imagesArray.shape[0], columns: imagesArray.shape[1], values: imagesArray.doubles())
        let labels = Matrix(rows: labelsArray.shape[0], columns: labelsArray.shape[1], values: labelsArray.doubles())
        let weightsCount = images.columns * labels.columns
        let state = Distiller.State(
            step: manifest.step, images: images, labels: labels, l2: manifest.l2,
            imageOptimiser: try optimiser("images", count: images.values.count),
            labelOptimiser: try optimiser("labels", count: labels.values.count),
            l2Optimiser: try optimiser("l2", count: 1),
            warmWeights: manifest.hasWarmWeights
                ? Matrix(rows: images.columns, columns: labels.columns, values: try array("warm-weights-idx2-double", count: weightsCount))
                : nil,
            warmAdjoint: manifest.hasWarmAdjoint ? try array("warm-adjoint-idx1-double", count: weightsCount) : nil)
        guard c.imagesPerClass * labels.columns == images.rows else {
            throw CLIError("\(manifestPath): \(c.imagesPerClass) image(s) per class for \(labels.columns) classes, but \(images.rows) saved images")
        }
        return Checkpoint(manifest: manifest, state: state)
    }
}

extension DecodingError {
    var shortDescription: String {
        switch self {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : path + ": ") + context.debugDescription
        @unknown default:
            return "\(self)"
        }
    }
}
