import Distill
import DistillImages
import DistillNumerics
import ImplicitDiff

/// The comparisons `distill check --model nngp|ntk` prints: the kernel ridge
/// model's hypergradient (images, labels and the L2 strength) as a run takes it,
/// through the fused pass (Float32 products or AMX tiles, Float32 recursion) and
/// the model's own linear solve, against the same implicit hypergradient in plain
/// Double (`NeuralKernelRidgeRegression.outerLoss` over the training set in blocks,
/// a Cholesky solve to 1e-12) and against central finite differences of the Double
/// loss, each side re-solving the inner problem exactly.
struct KernelHypergradientCheck: Encodable {
    /// The finite-difference step on a pixel or a label, and the relative step on λ
    /// (truncation O(h²), round-off about 1e-16 L / h in the Double loss). On MNIST
    /// at 1 image per class after 20 NTK steps the differences agree with the Double
    /// implicit hypergradient to 5e-11 (`distill check --model ntk --steps 20`).
    static let step = 1e-4
    /// The agreement required of every comparison (relative error).
    static let tolerance = HypergradientCheck.tolerance
    /// Training rows per block of the Double outer loss (bounds its memory: a
    /// block's pixels and kernel rows in Double).
    static let blockRows = 2000

    struct Row: Encodable {
        var method: String
        /// ‖g - g_FD‖ / ‖g_FD‖ over the probed pixels, labels and λ together.
        var errorVersusFiniteDifferences: Double
        /// ‖g - g_reference‖ / ‖g_reference‖ over every pixel, label and λ.
        var errorVersusReference: Double
    }

    var model: String
    var finiteDifferenceStep = Self.step
    /// Indices into the synthetic images' values (row-major, `m x p`) probed.
    var pixelCoordinates: [Int]
    /// Indices into the labels' values (row-major, `m x C`) probed.
    var labelCoordinates: [Int]
    /// The Double reference's Cholesky solve of the implicit system: its relative residual.
    var referenceResidual: Double
    /// The run's own linear solve: iterations and relative residual.
    var linearSolveIterations: Int
    var linearSolveResidual: Double
    var rows: [Row]
    var verdicts: [HypergradientCheck.Verdict]

    var passed: Bool { verdicts.allSatisfy(\.passed) }

    /// Checks `distiller`'s hypergradient at its current synthetic set (`pixels` pixels
    /// and `labels` labels probed, drawn with `seed`), over `train` on `threads`.
    init(distiller: inout Distiller, model: NeuralKernelModel, train: LabeledImages, pixels: Int, labels: Int,
         seed: UInt64, threads: Int) {
        self.model = model.name
        let fit = distiller.solveInner()
        let fused = model.outerGradient(of: fit, on: distiller.nextOuterPass, linearSolve: distiller.configuration.linearSolve,
                                        warmAdjoint: nil)
        linearSolveIterations = fused.linearSolve?.iterations ?? 0
        linearSolveResidual = fused.linearSolve?.relativeResidual ?? 0

        let images = fit.images, targets = fit.labels, l2 = fit.l2
        @Sendable func problem(_ s: Matrix, _ t: Matrix, _ lambda: Double) -> NeuralKernelRidgeRegression {
            NeuralKernelRidgeRegression(images: s, labels: t, l2: lambda, kernel: model.kernel,
                                        standardisation: model.standardisation)
        }
        // The Double outer loss over the training set, in blocks weighted by their share.
        let blocks = stride(from: 0, to: train.count, by: Self.blockRows).map { $0..<min(train.count, $0 + Self.blockRows) }
        @Sendable func outer(_ p: NeuralKernelRidgeRegression, _ alpha: Matrix)
            -> (loss: Double, coefficientGradient: Matrix, imageGradient: Matrix) {
            var loss = 0.0
            var dAlpha = Matrix(zeros: alpha.rows, alpha.columns), dImages = Matrix(zeros: p.count, train.features)
            for rows in blocks {
                let x = Matrix(rows: rows.count, columns: train.features, values: rows.flatMap { train.image($0) })
                let part = p.outerLoss(on: x, labels: rows.map { Int(train.labels[$0]) }, coefficients: alpha, loss: model.outerLoss)
                let share = Double(rows.count) / Double(train.count)
                loss += share * part.loss
                dAlpha = dAlpha.adding(part.coefficientGradient, scaledBy: share)
                dImages = dImages.adding(part.imageGradient, scaledBy: share)
            }
            return (loss, dAlpha, dImages)
        }
        let base = problem(images, targets, l2)
        let reference: SyntheticSetCotangent
        if let alpha = base.solution() {
            let o = outer(base, alpha)
            let hyper = Hypergradient(condition: NeuralKernelRidgeCondition(problem: base, coefficients: alpha),
                                      outerGradient: o.coefficientGradient.values, explicitImageGradient: o.imageGradient,
                                      solver: CholeskySolver(tolerance: 1e-12))
            reference = hyper.cotangent
            referenceResidual = hyper.solve.relativeResidual
        } else {
            reference = SyntheticSetCotangent(images: images.scaled(by: .nan), labels: targets.scaled(by: .nan), l2: .nan)
            referenceResidual = .nan
        }

        // The probed coordinates, then their central differences, spread over the threads.
        var random = SplitMix64(seed: seed ^ 0x6b65726e656c)
        func sample(_ count: Int, of total: Int) -> [Int] {
            var picked = Set<Int>()
            while picked.count < min(count, total) { picked.insert(Int(random.next() % UInt64(total))) }
            return picked.sorted()
        }
        let pixelCoordinates = sample(pixels, of: images.values.count), labelCoordinates = sample(labels, of: targets.values.count)
        self.pixelCoordinates = pixelCoordinates
        self.labelCoordinates = labelCoordinates
        enum Probe: Sendable { case pixel(Int), label(Int), l2 }
        let probes = pixelCoordinates.map(Probe.pixel) + labelCoordinates.map(Probe.label) + [.l2]
        let h = Self.step
        @Sendable func loss(_ probe: Probe, _ sign: Double) -> Double {
            var s = images, t = targets, lambda = l2
            switch probe {
            case .pixel(let i): s.values[i] += sign * h
            case .label(let i): t.values[i] += sign * h
            case .l2: lambda *= 1 + sign * h
            }
            let moved = problem(s, t, lambda)
            guard let alpha = moved.solution() else { return .nan }
            return outer(moved, alpha).loss
        }
        let parts = Parallel.chunks(of: probes.count, parts: max(1, threads))
        let differences = Parallel.map(parts: parts.count) { part -> [Double] in
            parts[part].map { k in
                let probe = probes[k]
                let width = if case .l2 = probe { 2 * h * l2 } else { 2 * h }
                return (loss(probe, 1) - loss(probe, -1)) / width
            }
        }.flatMap { $0 }
        func probed(_ g: SyntheticSetCotangent) -> [Double] {
            pixelCoordinates.map { g.images.values[$0] } + labelCoordinates.map { g.labels.values[$0] } + [g.l2]
        }
        func everything(_ g: SyntheticSetCotangent) -> [Double] { g.images.values + g.labels.values + [g.l2] }
        let rows = [
            Row(method: "implicit, float64 reference", errorVersusFiniteDifferences: relativeError(probed(reference), differences),
                errorVersusReference: 0),
            Row(method: "implicit, fused pass (as a run)", errorVersusFiniteDifferences: relativeError(probed(fused.cotangent), differences),
                errorVersusReference: relativeError(everything(fused.cotangent), everything(reference))),
        ]
        self.rows = rows
        verdicts = [
            .init(comparison: "float64 implicit vs finite differences", value: rows[0].errorVersusFiniteDifferences,
                  tolerance: Self.tolerance, isCheck: true),
            .init(comparison: "fused-pass implicit vs finite differences", value: rows[1].errorVersusFiniteDifferences,
                  tolerance: Self.tolerance, isCheck: true),
            .init(comparison: "fused-pass implicit vs float64 implicit", value: rows[1].errorVersusReference,
                  tolerance: Self.tolerance, isCheck: true),
        ]
    }

    func text(header: String) -> String {
        var lines = [header]
        lines.append("Inner problem: kernel ridge regression solved exactly (Cholesky); the run's implicit system: \(counted(linearSolveIterations, "iteration")) to relative residual \(scientific(linearSolveResidual)); the float64 reference's Cholesky solve: \(scientific(referenceResidual)).")
        lines.append("Finite differences: central, h = \(scientific(finiteDifferenceStep)) on \(pixelCoordinates.count) random pixels of S and \(labelCoordinates.count) labels, and on λ relative to it; each side re-solved exactly; the outer loss in float64 over the training set.")
        lines.append("")
        lines.append(pad("dL/d(S, T, λ) by", 36) + pad("rel. error vs FD", 19) + "rel. error vs float64 implicit (all of S, T, λ)")
        for r in rows {
            lines.append(pad(r.method, 36) + pad(scientific(r.errorVersusFiniteDifferences), 19)
                         + (r.errorVersusReference == 0 ? "-" : scientific(r.errorVersusReference)))
        }
        lines.append("")
        lines.append("Verdicts (relative error against the tolerance; a FAIL makes the exit status 1):")
        for v in verdicts {
            lines.append("  " + pad(v.passed ? "pass" : "FAIL", 8) + pad(scientific(v.value) + (v.passed ? " ≤ " : " > ") + scientific(v.tolerance), 22)
                         + v.comparison)
        }
        lines.append(passed ? "All checks passed." : "A check FAILED.")
        return lines.joined(separator: "\n")
    }

    var json: String { encodedJSON(self) }
}
