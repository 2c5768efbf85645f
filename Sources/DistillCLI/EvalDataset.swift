import DistillDatasets
import DistillIO
import DistillRun
import Foundation

/// The dataset `distill eval` measures a set on: `--data` (with the split
/// options given) when it is given; else the one the distilled folder's
/// metrics.json records (`RecordedDataset`: its path, split options, and the
/// SHA-256 of its files, checked as `--resume` checks them); else `--data`'s
/// default.
struct EvalDataset {
    /// The location loaded.
    var path: String
    var options: DatasetOptions
    /// The run's record it came from (nil: `--data` or its default).
    var recorded: RecordedDataset?
    /// The metrics.json it was recorded in, for messages.
    var metricsPath: String?

    /// Where the dataset came from, as `EvalReport.datasetSource` says it:
    /// `--data`, `metrics.json` or `default`.
    var source: String

    /// Chooses the dataset for the set in `distilled` (nil: a baseline set, no folder).
    ///
    /// - Throws: `RunError` when `distilled` is not a folder; `DistilledSetError`
    ///   when the recorded dataset is not there any
    ///   more, or a split option given without `--data` contradicts the recorded one;
    ///   `RunError` when metrics.json's dataset fields are malformed.
    static func choose<Default>(_ data: DataOptionGroup<Default>, distilled: String?) throws -> EvalDataset {
        // A missing --distilled folder is named as such, not by the first file read in it.
        if let distilled { try RunFiles.requireFolder(distilled, expected: "the folder of a distilled set (the --out folder of a run)") }
        if data.dataGiven {
            return EvalDataset(path: data.data, options: data.datasetOptions, source: "--data")
        }
        let metricsPath = distilled.map { $0 + "/" + RunFiles.metrics }
        guard let metricsPath, let bytes = FileManager.default.contents(atPath: metricsPath),
              let recorded = try RecordedDataset.inMetrics(bytes, path: metricsPath) else {
            return EvalDataset(path: data.data, options: data.datasetOptions, source: "default")
        }
        let folder = distilled ?? ""
        guard recorded.exists else {
            // A relative path was recorded as the run was given it, from the folder it was started in.
            if recorded.path.hasPrefix("/") || recorded.path.hasPrefix("~") {
                throw DistilledSetError(description: "\(folder) was made from \(recorded.path), which is not there; pass --data")
            }
            throw DistilledSetError(description: "\(folder) was made from \(recorded.path) (a path relative to the folder the run was started in), which is not there from here; run eval from that folder, or pass --data")
        }
        // A split option given without --data would be read for the recorded dataset: it must be the recorded one.
        if let fraction = data.testFraction, fraction != recorded.options.testFraction {
            let was = recorded.options.testFraction.map { "--test-fraction \(NumberText.shortest($0))" } ?? "no --test-fraction"
            throw DistilledSetError(description: "--test-fraction \(NumberText.shortest(fraction)): \(folder) was made from \(recorded.path) with \(was), which eval uses; leave --test-fraction out, or pass --data to read another split")
        }
        if let set = data.labelSet, set != recorded.options.labelSet {
            let was = recorded.options.labelSet.map { "--label-set \($0.rawValue)" } ?? "no --label-set"
            throw DistilledSetError(description: "--label-set \(set.rawValue): \(folder) was made from \(recorded.path) with \(was), which eval uses; leave --label-set out, or pass --data to read another label set")
        }
        return EvalDataset(path: recorded.path, options: recorded.options, recorded: recorded, metricsPath: metricsPath,
                           source: "metrics.json")
    }

    /// Loads it; a recorded dataset's files must have the recorded SHA-256.
    func load(distilled: String?) throws -> Dataset {
        guard let recorded, recorded.fileHashes != nil else { return try DatasetSources.load(path, options: options) }
        let loaded = try LoadedDataset(path: path, options: options)
        try recorded.checkFiles(of: loaded, loadedFrom: path, madeBy: distilled ?? "the run",
                                consequence: "pass --data to evaluate on these files anyway")
        return loaded.dataset
    }

    /// How the report names it: the path, and for a recorded dataset where it
    /// was recorded and with which split options ("/data/photos (recorded in
    /// out/metrics.json, --test-fraction 0.2 --split-seed 0; files' SHA-256 as recorded)").
    var description: String {
        guard let recorded else { return path }
        var details = ["recorded in \(metricsPath ?? RunFiles.metrics)"]
        var split: [String] = []
        if let fraction = options.testFraction { split += ["--test-fraction \(NumberText.shortest(fraction))", "--split-seed \(options.splitSeed)"] }
        if let set = options.labelSet { split.append("--label-set \(set.rawValue)") }
        if !split.isEmpty { details.append(split.joined(separator: " ")) }
        let checked = recorded.fileHashes == nil ? "" : "; files' SHA-256 as recorded"
        return "\(path) (\(details.joined(separator: ", "))\(checked))"
    }
}
