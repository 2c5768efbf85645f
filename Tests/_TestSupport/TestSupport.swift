import DistillDatasets
import DistillIO
import DistillImages
import DistillNumerics
import Foundation

/// Shared helpers for the test targets.
public enum TestSupport {
    /// A matrix of normal samples times `scale`, from a fixed seed.
    public static func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64, scale: Double = 1) -> Matrix {
        var random = SplitMix64(seed: seed)
        return Matrix(rows: rows, columns: columns, values: (0..<(rows * columns)).map { _ in random.nextNormal() * scale })
    }

    /// One-hot rows for `labels`.
    public static func oneHot(_ labels: [Int], classes: Int) -> Matrix {
        var t = Matrix(zeros: labels.count, classes)
        for (row, label) in labels.enumerated() { t[row, label] = 1 }
        return t
    }

    /// `‖a - b‖ / max(‖b‖, tiny)` over flat arrays.
    public static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var diff = 0.0, ref = 0.0
        for i in a.indices {
            diff += (a[i] - b[i]) * (a[i] - b[i])
            ref += b[i] * b[i]
        }
        return diff.squareRoot() / max(ref.squareRoot(), 1e-300)
    }

    /// Central finite differences of `f` at `x` along every coordinate (or the
    /// listed ones): `(f(x + h e_i) - f(x - h e_i)) / 2h`.
    public static func centralDifferences(of f: ([Double]) -> Double, at x: [Double], step h: Double,
                                          coordinates: [Int]? = nil) -> [Double] {
        (coordinates ?? Array(x.indices)).map { i in
            var plus = x, minus = x
            plus[i] += h
            minus[i] -= h
            return (f(plus) - f(minus)) / (2 * h)
        }
    }

    /// The package root, found from a test file's `#filePath` (Tests/<Target>/<File>.swift).
    public static func packageRoot(filePath: String = #filePath) -> String {
        var parts = filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }
}

extension TestSupport {
    /// The MNIST copy the repository ships in data/mnist.
    public static var mnistFolder: String { packageRoot() + "/data/mnist" }

    /// MNIST's training and test sets as the model sees them (loaded once per process).
    public static func mnist() throws -> (train: LabeledImages, test: LabeledImages) {
        try MNISTCache.shared.load()
    }
}

private final class MNISTCache: @unchecked Sendable {
    static let shared = MNISTCache()
    private let lock = NSLock()
    private var value: (train: LabeledImages, test: LabeledImages)?

    func load() throws -> (train: LabeledImages, test: LabeledImages) {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        let folder = try DatasetFolder.load(TestSupport.mnistFolder)
        let loaded = (LabeledImages(folder.train, classes: folder.classes), LabeledImages(folder.test, classes: folder.classes))
        value = loaded
        return loaded
    }
}
