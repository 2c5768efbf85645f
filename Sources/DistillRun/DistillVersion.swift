/// The version of Distill, recorded in metrics.json and checkpoints and printed by `distill --version`.
public enum DistillVersion {
    public static let current = "0.2.0"
}
