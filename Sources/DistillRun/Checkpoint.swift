import Distill
import DistillDatasets
import DistillIO
import DistillNumerics
import Foundation
import Synchronization

/// A run's full state on disk, in `<out>/checkpoint/`: enough to continue it
/// bit for bit. Arrays are IDX float64 files (exact); the rest is
/// `checkpoint.json`. The whole set is written atomically.
///
/// Format 2 (Distill 0.2): the configuration names the model by string and the
/// linear solve's settings `linearSolveTolerance` / `linearSolveMaxIterations`;
/// the warm start and adjoint are stored with the model's parameter shape.
public struct Checkpoint: Sendable {
    public static let folderName = RunFiles.checkpoint
    public static let formatVersion = 2

    /// What `checkpoint.json` holds.
    public struct Manifest: Codable, Sendable {
        var formatVersion: Int
        var distillVersion: String
        /// The dataset folder and the SHA-256 of each of its files as stored.
        public internal(set) var data: String
        var dataFiles: [String: String]
        /// How the dataset was loaded (`--test-fraction`, `--split-seed`, `--label-set`);
        /// absent in checkpoints of IDX runs written before these options existed.
        public internal(set) var dataOptions: DatasetOptions?
        /// The command's own options that the run keeps beyond its configuration
        /// and data options, by long name without dashes (`snapshot-every`: "1"),
        /// as the command that started it recorded them; absent in older checkpoints.
        public internal(set) var recordedOptions: [String: String]?
        /// The command that started the run and those that resumed it (`RunCommands`);
        /// absent in older checkpoints.
        public internal(set) var commandLine: String?
        public internal(set) var resumedWith: [String]?
        var configuration: DistillerConfiguration
        var step: Int
        var l2: Double
        var optimisers: [String: OptimiserScalars]
        var hasWarmWeights: Bool
        var hasWarmAdjoint: Bool
        var history: [StepRecord]
    }

    /// Adam's scalar state (its moment vectors are IDX files).
    public struct OptimiserScalars: Codable, Sendable {
        var learningRate: Double
        var beta1: Double
        var beta2: Double
        var epsilon: Double
        var stepCount: Int
    }

    public let manifest: Manifest
    public let state: Distiller.State

    /// `<out>/checkpoint`.
    public static func folder(in out: String) -> String { out + "/" + folderName }

    /// When a set is written over the one this process last wrote into the same folder.
    public enum Precedence: Sendable {
        /// Unless a later step's set was written (periodic checkpoints, a run's final outputs).
        case unlessLater
        /// Unless a later step's set, or this step's outputs, were written: the
        /// set a first signal asks for yields to the run's own final set of the
        /// same step (which also holds the baselines).
        case unlessLaterOrSameStepOutputs
        /// Always: the last good state after a divergence (an earlier step).
        case always
    }

    /// Writes the checkpoint of `distiller` into `<out>/checkpoint/`, and `files`
    /// (the outputs of the same step, by path) with it as one set
    /// (`OutputFile.write(_:)`), unless `precedence` says a set this process
    /// already wrote into `out` wins (then nothing is written).
    ///
    /// - Throws: the file that cannot be written and why (nothing is changed then).
    public static func write(_ distiller: Distiller, history: [StepRecord], data: String, dataFiles: [String: String],
                             dataOptions: DatasetOptions = DatasetOptions(), recordedOptions: [String: String] = [:],
                             commands: RunCommands? = nil, to out: String,
                             alongside files: [(path: String, bytes: [UInt8])] = [], precedence: Precedence = .unlessLater) throws {
        // One writer at a time (the signal thread may write too), and never an older step over a newer one.
        try written.withLock { sets throws in
            if let last = sets[out] {
                switch precedence {
                case .unlessLater: if last.step > distiller.step { return }
                case .unlessLaterOrSameStepOutputs:
                    if last.step > distiller.step || (last.step == distiller.step && last.withOutputs) { return }
                case .always: break
                }
            }
            try writeUnlocked(distiller, history: history, data: data, dataFiles: dataFiles, dataOptions: dataOptions,
                              recordedOptions: recordedOptions, commands: commands, to: out,
                              alongside: files)
            sets[out] = (distiller.step, !files.isEmpty)
        }
    }

    /// The step of the last set this process wrote into each folder, and whether it held outputs.
    private static let written = Mutex<[String: (step: Int, withOutputs: Bool)]>([:])

    private static func writeUnlocked(_ distiller: Distiller, history: [StepRecord], data: String, dataFiles: [String: String],
                                      dataOptions: DatasetOptions, recordedOptions: [String: String], commands: RunCommands?,
                                      to out: String, alongside outputs: [(path: String, bytes: [UInt8])]) throws {
        let folder = Self.folder(in: out)
        let folderExisted = access(folder, F_OK) == 0
        try OutputFile.createDirectory(folder)
        let state = distiller.state
        let optimisers = ["images": state.imageOptimiser, "labels": state.labelOptimiser, "l2": state.l2Optimiser]
        let manifest = Manifest(
            formatVersion: formatVersion, distillVersion: DistillVersion.current, data: data, dataFiles: dataFiles,
            dataOptions: dataOptions, recordedOptions: recordedOptions, commandLine: commands?.original,
            resumedWith: commands?.resumedWith, configuration: distiller.configuration, step: state.step, l2: state.l2,
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
        do { try OutputFile.write(outputs + files.map { (path: $0.0, bytes: $0.1) }) } catch {
            // Nothing of the set is left: not even the folder made for it.
            if !folderExisted { rmdir(folder) }
            throw error
        }
    }

    /// Reads the checkpoint in `<out>/checkpoint/`.
    ///
    /// - Throws: `RunError` naming the file and what was expected versus found
    ///   (`out` missing, not a folder, or without a checkpoint: named as such).
    public static func read(from out: String) throws(RunError) -> Checkpoint {
        let folder = Self.folder(in: out)
        let manifestPath = folder + "/checkpoint.json"
        let earlier = "the --out folder of an earlier run"
        try RunFiles.requireFolder(out, expected: earlier)
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw RunError("\(out): no checkpoint (\(RunFiles.checkpoint)/checkpoint.json); expected \(earlier)")
        }
        let manifest: Manifest
        do {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
            if let version = try? JSONDecoder().decode(FormatProbe.self, from: bytes), version.formatVersion != formatVersion {
                throw RunError("\(manifestPath): checkpoint format \(version.formatVersion), expected \(formatVersion) (written by Distill \(version.distillVersion ?? "?"); this is \(DistillVersion.current)): start the run again")
            }
            manifest = try JSONDecoder.total().decode(Manifest.self, from: bytes)
        } catch let error as RunError {
            throw error
        } catch let error as DecodingError {
            throw RunError("\(manifestPath): not a Distill checkpoint (\(error.shortDescription))")
        } catch {
            throw RunError("\(manifestPath): cannot read the checkpoint (\(error.localizedDescription)); is \(out) the --out folder of an earlier run?")
        }
        guard manifest.formatVersion == formatVersion else {
            throw RunError("\(manifestPath): checkpoint format \(manifest.formatVersion), expected \(formatVersion) (written by Distill \(manifest.distillVersion); this is \(DistillVersion.current))")
        }
        // The arrays' ranks, checked as each header is read (a damaged rank byte is named as such).
        let rankOne = IDXExpectedRank([1], "rank 1 (an optimiser's moments)")
        let rankTwo = IDXExpectedRank([2], "rank 2 (a matrix)")
        func array(_ name: String, count: Int) throws(RunError) -> [Double] {
            let path = folder + "/" + name
            let values: [Double]
            do { values = try IDX.read(contentsOf: path, expecting: rankOne).doubles() } catch { throw RunError(error) }
            guard values.count == count else {
                throw RunError("\(path): expected \(count) values, found \(values.count)")
            }
            return values
        }
        func optimiser(_ name: String, count: Int) throws(RunError) -> Adam {
            guard let scalars = manifest.optimisers[name] else { throw RunError("\(manifestPath): no state for the \(name) optimiser") }
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
            imagesArray = try IDX.read(contentsOf: folder + "/images-idx2-double", expecting: rankTwo)
            labelsArray = try IDX.read(contentsOf: folder + "/labels-idx2-double", expecting: rankTwo)
        } catch { throw RunError(error) }
        guard imagesArray.shape.count == 2, labelsArray.shape.count == 2, imagesArray.shape[0] == labelsArray.shape[0] else {
            throw RunError("\(folder): images \(imagesArray.shape) and labels \(labelsArray.shape) are not m x p and m x C")
        }
        let images = Matrix(rows: imagesArray.shape[0], columns: imagesArray.shape[1], values: imagesArray.doubles())
        let labels = Matrix(rows: labelsArray.shape[0], columns: labelsArray.shape[1], values: labelsArray.doubles())
        // The warm start and adjoint have the model's parameter shape, as saved.
        func matrix(_ name: String) throws(RunError) -> Matrix {
            let path = folder + "/" + name
            let array: IDXArray
            do { array = try IDX.read(contentsOf: path, expecting: rankTwo) } catch { throw RunError(error) }
            return Matrix(rows: array.shape[0], columns: array.shape[1], values: array.doubles())
        }
        let warmWeights = manifest.hasWarmWeights ? try matrix("warm-weights-idx2-double") : nil
        let state = Distiller.State(
            step: manifest.step, images: images, labels: labels, l2: manifest.l2,
            imageOptimiser: try optimiser("images", count: images.values.count),
            labelOptimiser: try optimiser("labels", count: labels.values.count),
            l2Optimiser: try optimiser("l2", count: 1),
            warmWeights: warmWeights,
            warmAdjoint: manifest.hasWarmAdjoint
                ? try array("warm-adjoint-idx1-double", count: warmWeights?.values.count ?? 0) : nil)
        guard c.imagesPerClass * labels.columns == images.rows else {
            throw RunError("\(manifestPath): \(c.imagesPerClass) image(s) per class for \(labels.columns) classes, but \(images.rows) saved images")
        }
        return Checkpoint(manifest: manifest, state: state)
    }
}

/// The fields every checkpoint format has, read first to name a format mismatch.
private struct FormatProbe: Decodable {
    var formatVersion: Int
    var distillVersion: String?
}

extension DecodingError {
    public var shortDescription: String {
        switch self {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : path + ": ") + context.debugDescription
        @unknown default:
            return "\(self)"
        }
    }
}
