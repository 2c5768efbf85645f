import ArgumentParser
import Distill
import DistillImages
import DistillNumerics
import DistillRun
import DistillIO
import Foundation
import ImplicitDiff

extension DistillCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hypergradient on the real data: implicit against unrolled and finite differences.",
            discussion: """
                Takes the synthetic set of a seed after `--steps` distillation steps of the \
                logistic model (50 by default; 0 checks the initial set), solves the inner logistic regression tightly \
                (relative gradient norm 1e-12) and compares, for dL/dS: the implicit \
                hypergradient, the unrolled one for each N in `--unroll-steps`, and central \
                finite differences on `--coordinates` random pixels, each side re-solving the \
                inner problem to the same tolerance. The outer loss and its gradient are taken \
                in Double with a plain loop over the training set, so that the finite \
                differences can use h = 1e-4 (the fused Float32 pass would bury such a \
                difference in round-off); the implicit gradient through the fused pass is shown \
                too. Then it shows the implicit gradient's error when the inner solve stops \
                early (relative tolerance 1e-1, 1e-2, 1e-3, 1e-6).

                With `--model nngp|ntk` (the kernel ridge models, with their run defaults at \
                --images-per-class), it takes the set after `--steps` steps of that model and \
                compares the hypergradient a run takes, in images, labels and the L2 strength \
                (through the fused pass and the model's own linear solve), with the same \
                implicit hypergradient in float64 (a plain kernel over the training set, a \
                Cholesky solve) and with central finite differences of the float64 loss on \
                `--coordinates` pixels, 2 labels and the L2 strength, each side re-solving \
                the inner problem exactly. On MNIST at 1 image per class it takes about 20 \
                seconds on 2 cores (each difference is two float64 passes over the training \
                set); the time grows with the images per class.

                With `--measure implicit|unrolled`, it instead times one hypergradient (cold \
                start, default tolerances, median of `--repeats`) and reads the process's peak \
                memory from /proc/self/status (VmHWM, reset after loading the data): run one \
                process per configuration, as tools/implicit-vs-unrolled.sh does.

                Examples:
                  distill check
                  distill check --images-per-class 10 --steps 20 --coordinates 20
                  distill check --measure unrolled --unroll-steps 500 --images-per-class 10
                  distill check --model ntk --steps 20
                """)

        @OptionGroup var dataOptions: DataOptions

        var data: String { dataOptions.data }
        var threads: Int { dataOptions.threads }

        @Option(parsing: .unconditional, help: "How many synthetic images per class the checked set has.")
        var imagesPerClass = 1

        @Option(parsing: .unconditional, help: "The seed of the synthetic set's initialisation and of the sampled coordinates.")
        var seed: UInt64 = 0

        @Option(parsing: .unconditional, help: "How many pixels of the synthetic set the finite differences probe.")
        var coordinates = 12

        @Option(name: .customLong("model"), help: ArgumentHelp("The inner model whose hypergradient is checked: logistic, or the kernel ridge models nngp and ntk (no unrolling, no --measure). \(choiceText(Self.models, defaults: LogisticModel.modelName))",
                                   valueName: Self.models.joined(separator: "|")))
        var modelName: String?

        /// `--model`, or its default.
        var model: String { modelName ?? LogisticModel.modelName }

        /// The models `--model` takes.
        static let models = [LogisticModel.modelName, NNGPModel.modelName, NTKModel.modelName]

        @Option(parsing: .unconditional, help: "How many distillation steps of the model, with run's settings, to take before checking; with --init noise and 0 steps the images are nearly zero, the inner problem nearly quadratic and every method nearly exact.")
        var steps = 50

        @Option(parsing: .unconditional, help: ArgumentHelp("The L2 strength of the inner model (positive); the starting value when it is learned. \(defaultsText(among: Self.models) { $0.l2 })"))
        var l2: Double?

        @Option(name: .customLong("init"), help: ArgumentHelp("How the synthetic images start. \(defaultsText(among: Self.models, values: choices(Initialisation.self)) { $0.initialisation.rawValue })"),
                transform: choice)
        var initialisation: Initialisation?

        @Option(parsing: .unconditional, help: ArgumentHelp("Hidden ReLU layers of the NNGP / NTK network (--model nngp|ntk; 1 to 8). \(defaultsText(kernelModelsOnly: true) { $0.kernelDepth })"))
        var depth: Int?

        @Option(help: ArgumentHelp("The outer loss of --model nngp|ntk: mse (KIP's) or cross-entropy, as run takes it. \(outerLossDefaultText)"), transform: choice)
        var outerLoss: KernelOuterLoss?

        @Option(parsing: .unconditional, help: "The numbers of unrolled gradient-descent steps to compare, as a comma-separated list (one value with --measure unrolled; logistic model only). (default: 10,100,500)")
        var unrollSteps: SizeList?

        /// `--unroll-steps`, or its default.
        var unrolledStepCounts: [Int] { unrollSteps?.sizes ?? [10, 100, 500] }

        @Option(help: "Time one hypergradient of this method and report its peak memory, instead of checking.")
        var measure: HypergradientMethod?

        @Option(parsing: .unconditional, help: "How many hypergradients --measure times (the median is reported).")
        var repeats = 5

        @Flag(help: "Print the results as one JSON object.")
        var json = false

        func validate() throws {
            guard imagesPerClass >= 1 else { throw ValidationError("--images-per-class: expected at least 1, found '\(imagesPerClass)'") }
            guard coordinates >= 1 else { throw ValidationError("--coordinates: expected at least 1, found '\(coordinates)'") }
            guard steps >= 0 else { throw ValidationError("--steps: expected zero or more, found '\(steps)'") }
            guard Self.models.contains(model) else {
                throw ValidationError("--model: expected one of \(ValueErrorText.alternatives(Self.models)), found '\(model)'")
            }
            if model == LogisticModel.modelName {
                if depth != nil { throw ValidationError("--depth: the logistic model has no hidden layers; give it with --model nngp or ntk") }
                if outerLoss != nil { throw ValidationError("--outer-loss: the logistic model's outer loss is the cross-entropy; give it with --model nngp or ntk") }
            } else {
                if let depth { guard (1...8).contains(depth) else { throw ValidationError("--depth: expected a value between 1 and 8, found '\(depth)'") } }
                if measure != nil { throw ValidationError("--measure times the logistic model's hypergradients only; leave it out with --model \(model)") }
                if unrollSteps != nil { throw ValidationError("--unroll-steps: the kernel ridge models are not unrolled; leave it out with --model \(model)") }
            }
            if let l2 {
                try refuseSubnormal([("--l2", l2)])
                guard isPositiveNormal(l2) else { throw ValidationError("--l2: expected a positive number, found '\(l2)'") }
            }
            guard repeats >= 1 else { throw ValidationError("--repeats: expected at least 1, found '\(repeats)'") }
            guard !unrolledStepCounts.isEmpty, unrolledStepCounts.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--unroll-steps: expected a list of step counts of at least 1, found '\(unrolledStepCounts)'")
            }
            if measure == .unrolled, unrolledStepCounts.count != 1 {
                throw ValidationError("--measure unrolled times one step count: give --unroll-steps a single value, got \(unrolledStepCounts).")
            }
        }

        func run() throws {
            try reportingFailure(execute)
        }

        private func execute() throws(CLIError) {
            let dataset = try runStep { () throws(RunError) in try LoadedDataset(path: data, options: dataOptions.datasetOptions) }
            // The model's run defaults (the logistic model's are DistillerConfiguration()'s).
            var configuration = (try? InnerModels.defaultConfiguration(model: model, imagesPerClass: imagesPerClass)) ?? DistillerConfiguration()
            configuration.imagesPerClass = imagesPerClass
            configuration.seed = seed
            if let l2 { configuration.l2 = l2 }
            if let initialisation { configuration.initialisation = initialisation }
            if let depth { configuration.kernelDepth = depth }
            if let outerLoss { configuration.outerLoss = outerLoss }
            configuration.threads = threads
            var distiller = try runStep { () throws(RunError) in try makeDistiller(dataset, configuration: configuration) }
            // The header goes out at once (standard output is line-buffered), so
            // that a pipe sees the check start rather than nothing until the end.
            if !json && measure == nil {
                print("Hypergradient check\(model == LogisticModel.modelName ? "" : " of --model \(model)") on \(data): \(dataset.train.count) training images, \(distiller.images.rows) synthetic images (\(imagesPerClass) per class, seed \(seed), init \(configuration.initialisation.rawValue)) after \(counted(steps, "distillation step")); computing...")
            }
            for _ in 0..<steps { _ = distiller.step(clock: { 0 }) }
            if let kernelModel = distiller.model as? NeuralKernelModel {
                let report = KernelHypergradientCheck(distiller: &distiller, model: kernelModel, train: dataset.train, pixels: coordinates,
                                                      labels: 2, seed: seed, threads: threads)
                print(json ? report.json : report.text(header: "λ = \(NumberText.shortest(distiller.l2)) after the steps; \(kernelModel.kernel.kind) of depth \(kernelModel.kernel.depth), \(kernelModel.outerLoss.rawValue) outer loss."))
                if !report.passed { throw CLIError("a hypergradient check failed (see the verdicts above)") }
                return
            }
            let problem = SoftmaxRegression(images: distiller.images, labels: distiller.labels, l2: distiller.l2)
            if let measure {
                let result = HypergradientMeasurement(problem: problem, train: dataset.train, method: measure,
                                                      unrollSteps: unrolledStepCounts[0], repeats: repeats, threads: threads)
                print(json ? result.json : result.sentence)
            } else {
                let report = HypergradientCheck(problem: problem, train: dataset.train, unrollSteps: unrolledStepCounts,
                                                coordinates: coordinates, seed: seed, threads: threads)
                print(json ? report.json : report.text(header: "λ = \(NumberText.shortest(problem.l2)) after the steps."))
                if !report.passed { throw CLIError("a hypergradient check failed (see the verdicts above)") }
            }
        }
    }
}

/// The comparisons `distill check` prints, on the logistic inner problem.
struct HypergradientCheck: Encodable {
    /// The tight inner tolerance, relative to ‖F(0)‖.
    static let innerTolerance = 1e-12
    static let cgTolerance = 1e-12
    /// The finite-difference step on a pixel (Double outer loss: round-off ~1e-16 · L / h).
    static let step = 1e-4

    struct Row: Encodable {
        var method: String
        /// ‖F(W)‖ / ‖F(0)‖ of the weights the hypergradient was taken at.
        var innerResidual: Double
        /// ‖g - g_FD‖ / ‖g_FD‖ over the sampled coordinates.
        var errorVersusFiniteDifferences: Double
        /// ‖g - g_implicit‖ / ‖g_implicit‖ over all of dL/dS.
        var errorVersusImplicit: Double
    }

    struct EarlyStop: Encodable {
        var tolerance: Double
        var innerIterations: Int
        var innerResidual: Double
        var errorVersusImplicit: Double
    }

    var innerTolerance = Self.innerTolerance
    var innerResidual: Double
    var innerIterations: Int
    var cgTolerance = Self.cgTolerance
    var linearSolveResidual: Double
    var linearSolveIterations: Int
    var finiteDifferenceStep = Self.step
    var coordinates: [Int]
    var rows: [Row]
    var earlyStops: [EarlyStop]
    /// The pass/fail verdicts, in the order printed.
    var verdicts: [Verdict] = []

    /// A comparison's verdict: `value` against `tolerance` (pass when `value ≤ tolerance`).
    struct Verdict: Encodable {
        var comparison: String
        var value: Double
        var tolerance: Double
        /// Whether it counts towards the exit status (false: a measurement of unrolling's convergence).
        var isCheck: Bool
        var passed: Bool { value <= tolerance }
    }

    /// The agreement required of every checked comparison: relative error ≤ 1e-4
    /// (finite differences with h = 1e-4 in Double are good to about 1e-6; the fused
    /// Float32 pass to about 1e-6).
    static let tolerance = 1e-4

    /// Whether every check passed (the measurements of unrolling do not count).
    var passed: Bool { verdicts.allSatisfy { !$0.isCheck || $0.passed } }

    /// The verdicts for `rows` and `earlyStops`.
    static func verdicts(rows: [Row], earlyStops: [EarlyStop]) -> [Verdict] {
        var verdicts: [Verdict] = []
        for row in rows {
            if row.method.hasPrefix("unrolled") {
                verdicts.append(Verdict(comparison: "\(row.method) vs implicit (measurement: unrolling is only as good as W_N)",
                                        value: row.errorVersusImplicit, tolerance: tolerance, isCheck: false))
            } else {
                verdicts.append(Verdict(comparison: "\(row.method) vs finite differences", value: row.errorVersusFiniteDifferences,
                                        tolerance: tolerance, isCheck: true))
                if row.method != "implicit" {
                    verdicts.append(Verdict(comparison: "\(row.method) vs implicit", value: row.errorVersusImplicit,
                                            tolerance: tolerance, isCheck: true))
                }
            }
        }
        if let certified = earlyStops.first(where: { $0.tolerance == DistillerConfiguration().innerTolerance }) {
            verdicts.append(Verdict(comparison: "implicit at the default inner tolerance \(scientific(certified.tolerance)) vs tight implicit",
                                    value: certified.errorVersusImplicit, tolerance: tolerance, isCheck: true))
        }
        return verdicts
    }

    init(problem: SoftmaxRegression, train: LabeledImages, unrollSteps: [Int], coordinates count: Int,
         seed: UInt64, threads: Int) {
        let tight = NewtonCG(relativeTolerance: Self.innerTolerance)
        let cg = ConjugateGradient(tolerance: Self.cgTolerance, maxIterations: 10_000)
        let zero = Matrix(zeros: problem.features, problem.classes)
        let scale = max(problem.evaluate(at: zero).gradient.norm, .leastNormalMagnitude)
        func outerGradient(_ w: Matrix) -> Matrix {
            Matrix(rows: w.rows, columns: w.columns,
                   values: ExactOuterPass.evaluate(weights: w, on: train, threads: threads, gradient: true).gradient)
        }
        let inner = tight.solve(problem)
        let implicit = Hypergradient(problem: problem, solution: inner, outerGradient: outerGradient(inner.weights), solver: cg)
        innerResidual = inner.gradientNorm / scale
        innerIterations = inner.iterations
        linearSolveResidual = implicit.solve.relativeResidual
        linearSolveIterations = implicit.solve.iterations

        // Central differences on a sample of pixels, each side re-solved tightly (warm started at W*).
        var random = SplitMix64(seed: seed ^ 0x636865636b)
        let total = problem.images.values.count
        var picked = Set<Int>()
        while picked.count < min(count, total) { picked.insert(Int(random.next() % UInt64(total))) }
        let sample = picked.sorted()
        coordinates = sample
        let finiteDifferences = sample.map { index -> Double in
            func loss(_ delta: Double) -> Double {
                var images = problem.images
                images.values[index] += delta
                let moved = tight.solve(SoftmaxRegression(images: images, labels: problem.labels, l2: problem.l2), from: inner.weights)
                return ExactOuterPass.evaluate(weights: moved.weights, on: train, threads: threads, gradient: false).loss
            }
            return (loss(Self.step) - loss(-Self.step)) / (2 * Self.step)
        }
        let reference = implicit.cotangent.images.values
        func row(_ method: String, _ residual: Double, _ gradient: [Double]) -> Row {
            Row(method: method, innerResidual: residual,
                errorVersusFiniteDifferences: relativeError(sample.map { gradient[$0] }, finiteDifferences),
                errorVersusImplicit: relativeError(gradient, reference))
        }
        let innerResidual = self.innerResidual
        var rows = [row("implicit", innerResidual, reference)]
        let fused = OuterPass(data: train, threads: threads).evaluate(weights: inner.weights.values, gradient: true)
        let implicitFused = Hypergradient(problem: problem, solution: inner,
                                          outerGradient: Matrix(rows: problem.features, columns: problem.classes, values: fused.gradient),
                                          solver: cg)
        rows.append(row("implicit, fused Float32 outer pass", innerResidual, implicitFused.cotangent.images.values))
        let eta = UnrolledGradientDescent.stepSize(for: problem)
        for n in unrollSteps {
            let trajectory = UnrolledGradientDescent(steps: n, stepSize: eta).run(problem)
            let unrolled = trajectory.hypergradient(outerGradient: outerGradient(trajectory.weights))
            rows.append(row("unrolled, N = \(n)", trajectory.gradientNorm / scale, unrolled.images.values))
        }
        self.rows = rows

        earlyStops = [1e-1, 1e-2, 1e-3, 1e-6].map { tolerance in
            let early = NewtonCG(relativeTolerance: tolerance).solve(problem)
            let hyper = Hypergradient(problem: problem, solution: early, outerGradient: outerGradient(early.weights), solver: cg)
            return EarlyStop(tolerance: tolerance, innerIterations: early.iterations, innerResidual: early.gradientNorm / scale,
                             errorVersusImplicit: relativeError(hyper.cotangent.images.values, reference))
        }
        verdicts = Self.verdicts(rows: rows, earlyStops: earlyStops)
    }

    func text(header: String) -> String {
        var lines = [header]
        lines.append("Inner solve: Newton-CG to ‖F(W*)‖ ≤ \(scientific(innerTolerance)) ‖F(0)‖, reached \(scientific(innerResidual)) in \(innerIterations) iterations; implicit system: CG to relative residual \(scientific(cgTolerance)), reached \(scientific(linearSolveResidual)) in \(linearSolveIterations) iterations.")
        lines.append("Finite differences: central, h = \(scientific(finiteDifferenceStep)), on \(coordinates.count) random pixels of S, each side re-solved to the same inner tolerance; outer loss and ∂L/∂W in Double (plain loop over the training set).")
        lines.append("")
        lines.append(pad("dL/dS by", 38) + pad("‖F(W)‖/‖F(0)‖", 16) + pad("rel. error vs FD", 19) + "rel. error vs implicit (all pixels)")
        for r in rows {
            lines.append(pad(r.method, 38) + pad(scientific(r.innerResidual), 16) + pad(scientific(r.errorVersusFiniteDifferences), 19)
                         + (r.method == "implicit" ? "-" : scientific(r.errorVersusImplicit)))
        }
        lines.append("")
        lines.append("The implicit hypergradient when the inner solve stops early (Newton-CG from W = 0, same CG):")
        lines.append(pad("inner tolerance", 18) + pad("Newton its", 12) + pad("‖F(W)‖/‖F(0)‖", 16) + "rel. error of dL/dS vs tight implicit")
        for e in earlyStops {
            lines.append(pad(scientific(e.tolerance), 18) + pad(String(e.innerIterations), 12) + pad(scientific(e.innerResidual), 16)
                         + scientific(e.errorVersusImplicit))
        }
        lines.append("")
        lines.append("Verdicts (relative error against the tolerance; a FAIL of a check makes the exit status 1):")
        for v in verdicts {
            let verdict = v.isCheck ? (v.passed ? "pass" : "FAIL") : (v.passed ? "within" : "outside")
            lines.append("  " + pad(verdict, 8) + pad(scientific(v.value) + (v.passed ? " ≤ " : " > ") + scientific(v.tolerance), 22) + v.comparison)
        }
        lines.append(passed ? "All checks passed." : "A check FAILED.")
        return lines.joined(separator: "\n")
    }

    var json: String { encodedJSON(self) }
}

/// Time and peak memory of one hypergradient (`distill check --measure`).
struct HypergradientMeasurement: Encodable {
    var method: String
    var unrollSteps: Int?
    var images: Int
    /// Median wall time of one hypergradient: inner solve (or N steps), outer pass, linear solve (or reverse pass).
    var seconds: Double
    /// Median wall time of the fused outer pass alone (included in `seconds`).
    var outerPassSeconds: Double
    /// VmRSS after loading and setting up, when VmHWM was reset.
    var baselineBytes: Int
    /// VmHWM at the end: the process's peak resident memory after the reset.
    var peakBytes: Int
    /// Bytes of the unrolled iterates kept for the reverse pass (W, ∇g and softmax(S W) per step).
    var storedIterateBytes: Int
    /// ‖dL/dS - dL/dS_implicit‖ / ‖dL/dS_implicit‖, against a tight implicit hypergradient (measured after the peak).
    var errorVersusImplicit: Double

    init(problem: SoftmaxRegression, train: LabeledImages, method: HypergradientMethod, unrollSteps n: Int, repeats: Int, threads: Int) {
        let pass = OuterPass(data: train, threads: threads)
        let defaults = DistillerConfiguration()
        let cg = ConjugateGradient(tolerance: defaults.linearSolveTolerance, maxIterations: defaults.linearSolveMaxIterations)
        resetPeakMemory()
        baselineBytes = memoryStatus("VmRSS") ?? 0
        var times: [Double] = [], outerTimes: [Double] = []
        var gradient: [Double] = []
        for _ in 0..<repeats {
            let clock = Stopwatch()
            switch method {
            case .implicit:
                let inner = NewtonCG(relativeTolerance: defaults.innerTolerance).solve(problem)
                let outerClock = Stopwatch()
                let outer = pass.evaluate(weights: inner.weights.values, gradient: true)
                outerTimes.append(outerClock.seconds)
                gradient = Hypergradient(problem: problem, solution: inner,
                                         outerGradient: Matrix(rows: problem.features, columns: problem.classes, values: outer.gradient),
                                         solver: cg).cotangent.images.values
            case .unrolled:
                let trajectory = UnrolledGradientDescent(steps: n, stepSize: UnrolledGradientDescent.stepSize(for: problem)).run(problem)
                let outerClock = Stopwatch()
                let outer = pass.evaluate(weights: trajectory.weights.values, gradient: true)
                outerTimes.append(outerClock.seconds)
                gradient = trajectory.hypergradient(outerGradient: Matrix(rows: problem.features, columns: problem.classes, values: outer.gradient)).images.values
            }
            times.append(clock.seconds)
        }
        peakBytes = memoryStatus("VmHWM") ?? 0
        self.method = method.rawValue
        unrollSteps = method == .unrolled ? n : nil
        images = problem.count
        seconds = median(times)
        outerPassSeconds = median(outerTimes)
        storedIterateBytes = method == .unrolled ? n * (2 * problem.features * problem.classes + problem.count * problem.classes) * 8 : 0
        let tight = NewtonCG(relativeTolerance: 1e-12).solve(problem)
        let outer = pass.evaluate(weights: tight.weights.values, gradient: true)
        let reference = Hypergradient(problem: problem, solution: tight,
                                      outerGradient: Matrix(rows: problem.features, columns: problem.classes, values: outer.gradient),
                                      solver: ConjugateGradient(tolerance: 1e-12, maxIterations: 10_000))
        errorVersusImplicit = relativeError(gradient, reference.cotangent.images.values)
    }

    var sentence: String {
        let name = method == "unrolled" ? "unrolled (N = \(unrollSteps ?? 0))" : "implicit"
        return "One \(name) hypergradient for \(images) synthetic images takes \(format(1000 * seconds, 1)) ms (of which \(format(1000 * outerPassSeconds, 1)) ms is the pass over the training set); peak memory \(format(Double(peakBytes) / 1_048_576, 1)) MiB, \(format(Double(peakBytes - baselineBytes) / 1_048_576, 1)) MiB above the \(format(Double(baselineBytes) / 1_048_576, 1)) MiB after loading; stored iterates \(format(Double(storedIterateBytes) / 1_048_576, 2)) MiB; relative error against a tight implicit hypergradient \(scientific(errorVersusImplicit))."
    }

    var json: String { encodedJSON(self) }
}

/// Resets the process's peak resident memory (VmHWM) to its current size
/// (Linux: "5" written to /proc/self/clear_refs); does nothing elsewhere.
private func resetPeakMemory() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// A field of /proc/self/status in bytes (e.g. VmHWM, VmRSS), nil when unavailable.
func memoryStatus(_ field: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, let kilobytes = Int(parts[1]) else { return nil }
        return kilobytes * 1024
    }
    return nil
}

/// `‖a - b‖ / ‖b‖` (the absolute norm when `b = 0`).
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    var difference = 0.0, reference = 0.0
    for i in a.indices {
        difference += (a[i] - b[i]) * (a[i] - b[i])
        reference += b[i] * b[i]
    }
    return reference > 0 ? (difference / reference).squareRoot() : difference.squareRoot()
}

/// `text` left-aligned in a column of `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func encodedJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder.total()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    guard let data = try? encoder.encode(value) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
}
