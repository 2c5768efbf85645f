import DistillDatasets
import Foundation

/// The dataset a run was made from, as the run recorded it (in its checkpoint,
/// `Checkpoint.Manifest.recordedDataset`, and in metrics.json, `inMetrics`):
/// where it was, how it was loaded, and the SHA-256 of its files. What
/// `distill run --resume` and `distill eval` check a dataset against.
public struct RecordedDataset: Sendable, Equatable {
    /// The dataset location as recorded (absolute in a checkpoint; as given to
    /// `--data` in metrics.json, so possibly relative to the run's directory).
    public var path: String
    /// How it was loaded (`--test-fraction`, `--split-seed`, `--label-set`).
    public var options: DatasetOptions
    /// The SHA-256 of each file, as `LoadedDataset.fileHashes` gives them; nil
    /// when not recorded (then nothing is checked).
    public var fileHashes: [String: String]?

    public init(path: String, options: DatasetOptions = DatasetOptions(), fileHashes: [String: String]? = nil) {
        self.path = path
        self.options = options
        self.fileHashes = fileHashes
    }

    /// Whether something is at `path` (a moved dataset is not).
    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Refuses `dataset`, loaded from `location`, unless its files are the
    /// recorded ones (when their SHA-256 are recorded).
    ///
    /// - Parameters:
    ///   - madeBy: what was made from the recorded files ("the checkpoint in out/checkpoint").
    ///   - consequence: why another dataset is refused ("resuming would not continue the same run").
    /// - Throws: `RunError`: "`location`: the dataset files differ from the ones
    ///   `madeBy` was made with (SHA-256 mismatch); `consequence`".
    public func checkFiles(of dataset: LoadedDataset, loadedFrom location: String, madeBy: String,
                           consequence: String) throws(RunError) {
        guard let fileHashes, fileHashes != dataset.fileHashes else { return }
        throw RunError("\(location): the dataset files differ from the ones \(madeBy) was made with (SHA-256 mismatch); \(consequence)")
    }

    /// The dataset a run's metrics.json records (`RunMetrics`: `dataset`, its
    /// `test_fraction`, `split_seed` and `label_set`, and `dataset_sha256`), or
    /// nil when it names none (a metrics.json of another tool).
    ///
    /// - Parameter path: the file's name, for errors.
    /// - Throws: `RunError` naming `path` and the field when one of them is malformed.
    public static func inMetrics(_ bytes: Data, path: String) throws(RunError) -> RecordedDataset? {
        struct Fields: Decodable {
            var dataset: String?
            var datasetSHA256: [String: String]?
            enum CodingKeys: String, CodingKey {
                case dataset = "dataset", datasetSHA256 = "dataset_sha256"
            }
        }
        do {
            let fields = try JSONDecoder().decode(Fields.self, from: bytes)
            guard let dataset = fields.dataset else { return nil }
            // metrics.json is flat: the split options are top-level fields under `DatasetOptions`' own names.
            let options = try JSONDecoder().decode(DatasetOptions.self, from: bytes)
            return RecordedDataset(path: dataset, options: options, fileHashes: fields.datasetSHA256)
        } catch let error as DecodingError {
            throw RunError("\(path): expected the dataset of a Distill run (dataset, its split options and dataset_sha256), found something else (\(error.shortDescription))")
        } catch {
            throw RunError("\(path): cannot read it (\(error))")
        }
    }
}

extension Checkpoint.Manifest {
    /// The dataset the checkpoint's run was made from.
    public var recordedDataset: RecordedDataset {
        RecordedDataset(path: data, options: dataOptions ?? DatasetOptions(), fileHashes: dataFiles)
    }
}
