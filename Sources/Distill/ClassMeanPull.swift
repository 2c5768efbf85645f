import DistillNumerics

/// The readability term of the outer objective: a pull of every synthetic
/// image towards the mean training image of its class,
///
///     R(S) = weight · (1/m) Σ_j ‖s_j - μ_class(j)‖²,   ∇R = (2 · weight / m) (S - M),
///
/// where row j of `M` is the mean of image j's class.
public struct ClassMeanPull: Sendable {
    public let weight: Double
    /// `M`: the class mean of each synthetic image, in row order.
    public let targets: Matrix

    /// - Parameters:
    ///   - classMeans: one mean image per class (`classes x features`).
    ///   - imageClasses: the class of each synthetic image row.
    public init(weight: Double, classMeans: Matrix, imageClasses: [Int]) {
        self.weight = weight
        var targets = Matrix(zeros: imageClasses.count, classMeans.columns)
        for (row, c) in imageClasses.enumerated() {
            for j in 0..<classMeans.columns { targets[row, j] = classMeans[c, j] }
        }
        self.targets = targets
    }

    public func value(_ images: Matrix) -> Double {
        let d = images.adding(targets, scaledBy: -1)
        return weight * d.dot(d) / Double(images.rows)
    }

    public func gradient(_ images: Matrix) -> Matrix {
        images.adding(targets, scaledBy: -1).scaled(by: 2 * weight / Double(images.rows))
    }

    /// `value(images)` and `imageGradient + gradient(images)` from one difference
    /// `S - M`, the same bits as those calls: `a + 1 · (d · s)` and `a · 1 + s · d`
    /// round alike (multiplying by 1 is exact).
    public func value(_ images: Matrix, addingGradientTo imageGradient: Matrix) -> (value: Double, imageGradient: Matrix) {
        let d = images.adding(targets, scaledBy: -1)
        let scale = 2 * weight / Double(images.rows)
        return (weight * d.dot(d) / Double(images.rows), imageGradient.scaled(by: 1, adding: d, scaledBy: scale))
    }
}
