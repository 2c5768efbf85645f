import DistillNumerics
import _TestSupport
@testable import Distill

/// Helpers shared by the inner-model derivative tests.
enum DerivativeCheck {
    /// `(f(+h) - f(-h)) / 2h` for a vector-valued `f` of a scalar step.
    static func directional(_ f: (Double) -> [Double], step h: Double = 1e-5) -> [Double] {
        zip(f(h), f(-h)).map { ($0 - $1) / (2 * h) }
    }

    /// `max(‖a - b‖ / ‖b‖)` over the pairs, printed under `label`.
    @discardableResult
    static func report(_ label: String, _ pairs: [(String, [Double], [Double])]) -> Double {
        var worst = 0.0
        for (name, a, b) in pairs {
            let error = TestSupport.relativeError(a, b)
            print("\(label) \(name): relative error \(error)")
            worst = max(worst, error)
        }
        return worst
    }

    /// A labelled training set as `LabeledImages` (Float pixels) and the same values as
    /// Double matrices `X` (`n x p`) and one-hot `Y`, so the Double reference sees
    /// exactly the pixels the model does.
    static func trainingSet(count n: Int, features p: Int, classes: Int, seed: UInt64, scale: Double = 0.7)
        -> (data: LabeledImages, x: Matrix, y: Matrix) {
        let values = TestSupport.randomMatrix(n, p, seed: seed, scale: scale).values.map { Float($0) }
        let labels = (0..<n).map { Int32($0 % classes) }
        let data = LabeledImages(pixels: .floats(values), scale: 1, labels: labels, features: p, classes: classes)
        let x = Matrix(rows: n, columns: p, values: values.map(Double.init))
        return (data, x, TestSupport.oneHot(labels.map(Int.init), classes: classes))
    }

    /// A random direction in `(S, T, λ)`.
    static func direction(images: Int, features: Int, classes: Int, seed: UInt64) -> SyntheticSetTangent {
        SyntheticSetTangent(images: TestSupport.randomMatrix(images, features, seed: seed),
                            labels: TestSupport.randomMatrix(images, classes, seed: seed + 1), l2: 0.7)
    }

    /// `θ + h θ̇`.
    static func moved(_ s: Matrix, _ t: Matrix, _ l2: Double, along d: SyntheticSetTangent, by h: Double)
        -> (Matrix, Matrix, Double) {
        (s.adding(d.images, scaledBy: h), t.adding(d.labels, scaledBy: h), l2 + h * d.l2)
    }
}
