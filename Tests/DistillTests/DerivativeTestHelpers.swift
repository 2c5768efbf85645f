import DistillNumerics
import _TestSupport
@testable import Distill
import DistillImages

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

extension DerivativeCheck {
    /// Compares a cotangent on `(S, T, λ)` with central differences of `loss` at
    /// `(s, t, l2)` in every coordinate of S and T (step `h`) and in λ (step
    /// `l2Step`); prints and returns the largest relative error of the three.
    @discardableResult
    static func compare(_ label: String, _ cotangent: SyntheticSetCotangent,
                        with loss: (Matrix, Matrix, Double) -> Double,
                        at s: Matrix, _ t: Matrix, _ l2: Double,
                        step h: Double = 1e-5, l2Step: Double = 1e-5) -> Double {
        report(label, [
            ("S", cotangent.images.values,
             TestSupport.centralDifferences(of: { loss(Matrix(rows: s.rows, columns: s.columns, values: $0), t, l2) }, at: s.values, step: h)),
            ("T", cotangent.labels.values,
             TestSupport.centralDifferences(of: { loss(s, Matrix(rows: t.rows, columns: t.columns, values: $0), l2) }, at: t.values, step: h)),
            ("λ", [cotangent.l2], [(loss(s, t, l2 + l2Step) - loss(s, t, l2 - l2Step)) / (2 * l2Step)]),
        ])
    }
}
