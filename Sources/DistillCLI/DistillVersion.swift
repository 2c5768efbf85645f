/// The version of Distill, recorded in metrics.json and checkpoints.
enum DistillVersion {
    static let current = "0.1.0"
}
