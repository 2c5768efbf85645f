import Foundation

/// The names of the files a run writes into its output folder: one list shared
/// by the writers and every reader (eval, resume, retrain, report).
public enum RunFiles {
    /// The synthetic images as a grid picture.
    public static let grid = "distilled.png"
    /// The synthetic images, IDX float32 (float64 when a value is beyond Float's
    /// range), `m x H x W` (`m x H x W x C` for colour).
    public static let images = "distilled-images-idx3-float"
    /// Each image's label as the dataset's files give it (an IDX folder's label
    /// value, CIFAR's label; metrics.json's `class_values` lists them in class
    /// order), or its class index 0..<C for a dataset whose classes are names
    /// (a PNG tree: metrics.json's `class_names` names each index). IDX ubyte,
    /// int32 when a value lies outside 0...255; `m`.
    public static let classLabels = "distilled-labels-idx1-ubyte"
    /// The labels the inner model was trained with, IDX float32 (float64 when a value is beyond Float's range), `m x C`.
    public static let softLabels = "distilled-labels-idx2-float"
    /// One row per step.
    public static let history = "history.csv"
    /// Settings and results.
    public static let metrics = "metrics.json"
    /// The run on one page.
    public static let report = "report.html"
    /// The contact sheet of snapshots.
    public static let progress = "progress.png"
    /// The snapshots folder.
    public static let snapshots = "snapshots"
    /// The checkpoint folder.
    public static let checkpoint = "checkpoint"
}

extension RunFiles {
    /// Refuses `path` unless it is a folder, in one line naming it and what was
    /// expected: "/x: no such folder; expected the --out folder of an earlier run",
    /// or "/x: not a folder; expected ...". `expected` says which folder.
    ///
    /// - Throws: `RunError` when `path` is missing or not a folder.
    public static func requireFolder(_ path: String, expected: String) throws(RunError) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw RunError("\(path): no such folder; expected \(expected)")
        }
        guard isFolder.boolValue else { throw RunError("\(path): not a folder; expected \(expected)") }
    }
}
