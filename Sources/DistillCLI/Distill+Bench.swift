import ArgumentParser
import Distill
import DistillIO
import DistillDatasets
import DistillImages
import DistillNumerics
import DistillRun
import Foundation
import ImplicitDiff

extension DistillCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time every part of an outer step on a dataset folder and print the medians.",
            discussion: """
                Loads the dataset folder, takes \(Bench.warmUpSteps) outer steps of a default run to reach \
                a realistic state, then times each part of a step `--repetitions` times and prints \
                the medians: the outer pass over the training set (loss, accuracy and gradient), \
                the warm-started inner solve (a re-solve after one real outer step has moved the \
                synthetic images), the conjugate-gradient solve of the implicit system, the whole \
                hypergradient (that solve plus the parameters-VJP), the whole outer step (as \
                `distill run` takes it), and the loading of the data (repeated at most \
                \(Bench.maximumLoadRepetitions) times). It also reports the peak resident memory, \
                the thread count, and the floating-point rate (4 n p C operations per pass) and \
                the bandwidth (the stored training pixels read once per pass) the outer pass \
                achieves, and its ratio to the compute bound: the pass's operations at the rate of \
                a peak fused-multiply-add loop measured on the same threads just before each pass, \
                and the share of the pass's dense multiply-adds (2 n p C) it actually did ("work \
                done": it leaves out the all-zero 16-pixel chunks of sparse byte images such as \
                MNIST's, with the same results; the rate counts the dense operations).

                With --model nngp or ntk it times the fused kernel pass (loss and gradients over \
                the whole training set), the inner solve and the whole outer step, and reports the \
                pass's 4 n m p operations (its two products with the support set) as GFLOP/s and \
                as a ratio to the same measured bound, and the share of those dense multiply-adds \
                the pass actually did (it skips zero pixels of sparse byte images such as MNIST's, \
                with the same results; the rate counts the dense operations). For byte images and \
                3 to 16 support images (MNIST at one image per class) on a CPU with AMX-INT8 tiles, \
                the two products run on the tiles instead, as exact integer products of the bytes \
                with each support value's four 8-bit digits; the table says so, and the bound \
                still counts the dense Float32 operations at the peak FMA rate. Its row "loss only" \
                (forward_pass_ms in --json) times the same pass without the gradients: the loss and \
                accuracy alone, which is what measuring a synthetic set on a dataset costs (the test \
                accuracy during a run, the final model's train and test figures, the baselines). \
                It takes the model's defaults at \
                --images-per-class (the cross-entropy outer loss, or for ntk from \(NTKModel.meanSquaredErrorFromImagesPerClass) \
                images per class the mean squared error); add --outer-loss mse to time the KIP loss \
                that tools/ntk-jax-reference.sh times.

                The parts are timed in turn within each repetition, and the step / pass ratio is \
                the median of the ratios of a step to the pass timed just before it; likewise each \
                ratio to the bound is the median of a repetition's time over the bound measured \
                just before it, so neither need equal the ratio of the two medians printed. Timings are \
                wall-clock medians: on a busy machine, compare figures from the same run rather \
                than across runs.

                With `--json`, one object with the keys outer_pass_ms, inner_solve_ms, linear_solve_ms, \
                hypergradient_ms, step_ms, load_ms, peak_rss_bytes, threads, outer_pass_gflops, \
                outer_pass_gbps and multiply_add_fraction, and a few more (step_to_pass_ratio, iteration counts, the \
                sizes); with --model nngp or ntk, the keys pass_ms, forward_pass_ms (the loss \
                only), inner_solve_ms, step_ms, load_ms, pass_gflops, bound_ms, \
                multiply_add_fraction, amx_products and a few more.

                Examples:
                  distill bench
                  distill bench --images-per-class 10 --repetitions 50
                  distill bench --threads 1 --json
                  distill bench --model ntk --images-per-class 10
                """)

        /// Outer steps taken before timing, so that the warm starts are those of a real run.
        static let warmUpSteps = 10
        /// Loading takes far longer than a step; it is repeated at most this often.
        static let maximumLoadRepetitions = 5

        @OptionGroup var dataOptions: DataOptions
        @OptionGroup(title: "Inner model") var modelOptions: ModelOptionGroup<BenchModels>

        @Option(parsing: .unconditional, help: "How many synthetic images per class the timed steps use.")
        var imagesPerClass = 1

        @Option(parsing: .unconditional, help: "How many times each part is timed; the medians are reported.")
        var repetitions = 30

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard imagesPerClass >= 1 else { throw ValidationError("--images-per-class: expected at least 1, found '\(imagesPerClass)'") }
            guard repetitions >= 1 else { throw ValidationError("--repetitions: expected at least 1, found '\(repetitions)'") }
            guard BenchModels.names.contains(modelOptions.model) else { throw ValidationError(BenchModels.refusal(modelOptions.model)) }
            // The logistic model's steps are timed with the implicit hypergradient only.
            if modelOptions.hypergradient == .unrolled || modelOptions.unrollSteps != nil {
                let given = modelOptions.hypergradient == .unrolled ? "--hypergradient unrolled" : "--unroll-steps \(modelOptions.unrollSteps ?? 0)"
                throw ValidationError("\(given) has no effect: distill bench times the implicit hypergradient only; leave it out (distill check --measure unrolled times one unrolled hypergradient).")
            }
            try modelOptions.refuseUnreadSettings(modelOptions.configuration(imagesPerClass: imagesPerClass))
        }

        func run() throws {
            try reportingFailure { () throws(CLIError) in
                if Self.kernelModels.contains(modelOptions.model) {
                    let report = try measureKernel()
                    print(json ? report.json : report.table)
                } else {
                    let report = try measure()
                    print(json ? report.json : report.table)
                }
            }
        }

        /// The models bench times: the logistic one (`measure`) and the kernel ones (`measureKernel`).
        enum BenchModels: ModelChoices {
            /// Bench times the implicit hypergradient only.
            static var takesUnrolled: Bool { false }
            static var names: [String] { InnerModels.names.filter { $0 == LogisticModel.modelName || kernelModels.contains($0) } }
            static func refusal(_ model: String) -> String {
                "distill bench times --model \(names.dropLast().joined(separator: ", ")) or \(names.last ?? ""), got --model \(model)."
            }
        }

        /// The models whose outer pass is the fused NNGP / NTK pass (`measureKernel`).
        static let kernelModels: Set<String> = [NNGPModel.modelName, NTKModel.modelName]
        /// Rounds of the peak-FMA loop per thread and repetition (about 10 ms per thread on an idle AVX-512 core).
        static let peakIterations = 8_000_000

        var data: String { dataOptions.data }
        var threads: Int { dataOptions.threads }

        func measure() throws(CLIError) -> BenchReport {
            var loadTimes: [Double] = []
            var loaded: Dataset?
            for _ in 0..<min(repetitions, Self.maximumLoadRepetitions) {
                loaded = nil   // one copy in memory at a time
                let start = Stopwatch.now()
                do { loaded = try DatasetSources.load(data, options: dataOptions.datasetOptions) } catch { throw CLIError(error) }
                loadTimes.append(Stopwatch.now() - start)
            }
            guard let dataset = loaded else { throw CLIError(BenchError.noRepetitions) }
            let train = dataset.train

            var configuration = DistillerConfiguration()
            configuration.imagesPerClass = imagesPerClass
            configuration.threads = threads
            var distiller: Distiller
            do { distiller = try Distiller(train: train, configuration: configuration) } catch { throw CLIError(error) }
            let clock = Stopwatch()
            for _ in 0..<Self.warmUpSteps { _ = distiller.step(clock: { clock.seconds }) }

            // One real step's inputs, rebuilt from the public pieces: the inner solution
            // and adjoint before the step, the moved synthetic set after it.
            let inner = NewtonCG(relativeTolerance: configuration.innerTolerance)
            let pass = OuterPass(data: train, threads: threads)
            // The implicit system's solver, chosen as the step chooses it.
            func solver(_ problem: SoftmaxRegression, _ solution: InnerSolution) -> any LinearSolver {
                problem.hessianSolver(probabilities: solution.evaluation.probabilities, factors: solution.imageSpace,
                                      tolerance: configuration.linearSolveTolerance, maxIterations: configuration.linearSolveMaxIterations)
            }
            func logisticProblem(_ d: Distiller) -> SoftmaxRegression {
                SoftmaxRegression(images: d.images, labels: d.labels, l2: d.l2, threads: threads)
            }
            let before = logisticProblem(distiller)
            let previous = inner.solve(before)
            let previousGradient = Self.gradientMatrix(pass.evaluate(weights: previous.weights.values, gradient: true), like: previous.weights)
            let previousAdjoint = Hypergradient(problem: before, solution: previous, outerGradient: previousGradient,
                                                solver: solver(before, previous)).adjoint
            _ = distiller.step(clock: { clock.seconds })
            let problem = logisticProblem(distiller)
            let solution = inner.solve(problem, from: previous.weights)
            let gradient = Self.gradientMatrix(pass.evaluate(weights: solution.weights.values, gradient: true), like: solution.weights)
            let condition = SoftmaxRegressionCondition(problem: problem, solution: solution.evaluation)
            let implicitSolver = solver(problem, solution)

            // The parts are timed in turn within each repetition, so that a change in
            // the machine's load shows in all of them alike, and the step / pass ratio
            // is the median of ratios taken a few milliseconds apart.
            func seconds(_ body: () -> Void) -> Double {
                let start = Stopwatch.now()
                body()
                return Stopwatch.now() - start
            }
            var passTimes: [Double] = [], innerTimes: [Double] = [], linearSolveTimes: [Double] = []
            var hypergradientTimes: [Double] = [], stepTimes: [Double] = [], ratios: [Double] = []
            var peakRates: [Double] = [], boundRatios: [Double] = []
            let passFlops = 4 * Double(train.count) * Double(train.features) * Double(train.classes)
            var linearSolveIterations = 0
            for _ in 0..<repetitions {
                peakRates.append(PeakCompute.measure(threads: threads, iterations: Self.peakIterations, repetitions: 1, clock: Stopwatch.now))
                passTimes.append(seconds { _ = pass.evaluate(weights: solution.weights.values, gradient: true) })
                boundRatios.append(Self.rate(passTimes[passTimes.count - 1], per: passFlops / peakRates[peakRates.count - 1]))
                innerTimes.append(seconds { _ = inner.solve(problem, from: previous.weights) })
                linearSolveTimes.append(seconds {
                    linearSolveIterations = implicitSolver.solve({ condition.solutionVJP($0) }, gradient.values, initialGuess: previousAdjoint).iterations
                })
                hypergradientTimes.append(seconds {
                    _ = Hypergradient(problem: problem, solution: solution, outerGradient: gradient, solver: implicitSolver, initialGuess: previousAdjoint)
                })
                stepTimes.append(distiller.step(clock: { clock.seconds }).seconds)
                ratios.append(Self.rate(stepTimes[stepTimes.count - 1], per: passTimes[passTimes.count - 1]))
            }
            let passSeconds = median(passTimes)
            // The share of the dense 2 n p C multiply-adds the pass did (below 1 where it left
            // out all-zero 16-pixel chunks): the GFLOP/s and the bound count the dense operations.
            let multiplyAddFraction = pass.multiplyAdds(weights: solution.weights.values, gradient: true)
                / pass.denseMultiplyAdds(gradient: true)

            let p = Double(train.features), n = Double(train.count), c = Double(train.classes)
            let bytesPerPixel: Double
            switch train.pixels {
            case .bytes: bytesPerPixel = 1
            case .floats: bytesPerPixel = 4
            }
            return BenchReport(
                outerPassMs: 1000 * passSeconds, innerSolveMs: 1000 * median(innerTimes), linearSolveMs: 1000 * median(linearSolveTimes),
                hypergradientMs: 1000 * median(hypergradientTimes), stepMs: 1000 * median(stepTimes),
                loadMs: 1000 * median(loadTimes), peakRSSBytes: ProcessMemory.peakResidentBytes() ?? 0,
                threads: threads,
                outerPassGflops: Self.rate(4 * n * p * c / 1e9, per: passSeconds),
                outerPassGbps: Self.rate(bytesPerPixel * n * p / 1e9, per: passSeconds),
                stepToPassRatio: median(ratios),
                peakGflops: median(peakRates) / 1e9, passToBoundRatio: median(boundRatios),
                multiplyAddFraction: multiplyAddFraction,
                imagesPerClass: imagesPerClass, repetitions: repetitions, trainImages: train.count,
                features: train.features, classes: train.classes,
                innerIterations: solution.iterations, innerHessianProducts: solution.hessianProducts,
                linearSolveIterations: linearSolveIterations, avx512: pass.usesAVX512)
        }

        /// `amount / seconds`, or 0 for a time too short to measure (JSON has no infinity).
        static func rate(_ amount: Double, per seconds: Double) -> Double {
            seconds > 0 ? amount / seconds : 0
        }

        private static func gradientMatrix(_ result: OuterPassResult, like weights: Matrix) -> Matrix {
            Matrix(rows: weights.rows, columns: weights.columns, values: result.gradient)
        }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case noRepetitions
    case notAKernelModel(String)

    var description: String {
        switch self {
        case .noRepetitions: "nothing was timed: --repetitions must be at least 1"
        case .notAKernelModel(let name): "the fused kernel pass is timed for --model nngp or ntk, got \(name)"
        }
    }
}

/// The medians `distill bench` measures, in milliseconds unless named otherwise.
struct BenchReport: Codable, Equatable {
    var outerPassMs: Double
    var innerSolveMs: Double
    var linearSolveMs: Double
    var hypergradientMs: Double
    var stepMs: Double
    var loadMs: Double
    var peakRSSBytes: Int
    var threads: Int
    var outerPassGflops: Double
    var outerPassGbps: Double
    /// The median over the repetitions of (whole step) / (outer pass timed just before it).
    var stepToPassRatio: Double
    /// The peak-FMA loop's rate on the same threads (`PeakCompute`), measured before each pass; median.
    var peakGflops: Double
    /// The median over the repetitions of (outer pass) / (its 4 n p C operations at the peak rate measured just before it).
    var passToBoundRatio: Double
    /// The multiply-adds the pass did over the dense 2 n p C that outerPassGflops and
    /// the bound count: below 1 where the kernel left out all-zero 16-pixel chunks of
    /// byte images (same results, less work; `OuterPass.multiplyAdds`).
    var multiplyAddFraction: Double
    var imagesPerClass: Int
    var repetitions: Int
    var trainImages: Int
    var features: Int
    var classes: Int
    var innerIterations: Int
    var innerHessianProducts: Int
    var linearSolveIterations: Int
    var avx512: Bool

    enum CodingKeys: String, CodingKey {
        case threads, repetitions, classes, features, avx512
        case outerPassMs = "outer_pass_ms", innerSolveMs = "inner_solve_ms", linearSolveMs = "linear_solve_ms"
        case hypergradientMs = "hypergradient_ms", stepMs = "step_ms", loadMs = "load_ms"
        case peakRSSBytes = "peak_rss_bytes", outerPassGflops = "outer_pass_gflops", outerPassGbps = "outer_pass_gbps"
        case imagesPerClass = "images_per_class", trainImages = "train_images"
        case innerIterations = "inner_iterations", innerHessianProducts = "inner_hessian_products"
        case linearSolveIterations = "linear_solve_iterations", stepToPassRatio = "step_to_pass_ratio"
        case peakGflops = "peak_gflops", passToBoundRatio = "outer_pass_to_bound_ratio"
        case multiplyAddFraction = "multiply_add_fraction"
    }

    var json: String { (try? oneLineJSON()) ?? "{}" }

    /// The pass's 4 n p C operations at the peak loop's median rate, in ms (n training
    /// images, p pixels, C classes).
    var boundMs: Double { peakGflops > 0 ? outerPassMs * outerPassGflops / peakGflops : .nan }

    var table: String {
        func ms(_ x: Double) -> String { format(x, 2) + " ms" }
        let rows: [(String, String)] = [
            ("outer pass", ms(outerPassMs) + "  (\(format(outerPassGflops, 1)) GFLOP/s, \(format(outerPassGbps, 1)) GB/s, "
                + "\(format(passToBoundRatio, 2))x the bound\(avx512 ? ", AVX-512" : ""))"),
            ("  work done", "\(format(100 * multiplyAddFraction, 1))% of the dense 2 n p C multiply-adds (zero chunks skipped; "
                + "GFLOP/s and the bound count the dense ones)"),
            ("compute bound", ms(boundMs) + "  (4 n p C dense operations at the peak FMA loop's \(format(peakGflops, 1)) GFLOP/s, same run)"),
            ("inner solve (warm)", ms(innerSolveMs) + "  (\(innerIterations) Newton it, \(innerHessianProducts) Hessian products)"),
            ("linear solve", ms(linearSolveMs) + "  (\(linearSolveIterations) it)"),
            ("hypergradient", ms(hypergradientMs) + "  (CG and parameters-VJP)"),
            ("whole step", ms(stepMs) + "  (\(format(stepToPassRatio, 2))x the outer pass)"),
            ("data loading", ms(loadMs)),
            ("peak memory", format(Double(peakRSSBytes) / 1e6, 1) + " MB"),
            ("threads", "\(threads)"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        let header = "Medians of \(repetitions) runs, n = \(trainImages) training images of p = \(features) pixels, C = \(classes) classes, \(counted(imagesPerClass, "synthetic image")) per class:"
        return ([header] + rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 })
            .joined(separator: "\n")
    }
}

/// Figures about this process's memory.
enum ProcessMemory {
    /// The peak resident set size (VmHWM in /proc/self/status), or nil where there is none.
    static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            // "VmHWM:<tab>   76280 kB"
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }
}
