import Distill
import DistillDatasets
import DistillNumerics
import DistillRun
import Foundation

extension DistillCommand.Bench {
    /// `distill bench --model nngp|ntk`: the fused kernel pass, the inner solve and the
    /// whole outer step, each repetition preceded by the peak-FMA loop on the same
    /// threads, so that the pass's ratio to the compute bound is taken a few
    /// milliseconds from the bound it is compared with.
    func measureKernel() throws(CLIError) -> KernelBenchReport {
        let loadStart = Stopwatch.now()
        let dataset: Dataset
        do { dataset = try DatasetSources.load(data) } catch { throw CLIError(error) }
        let loadSeconds = Stopwatch.now() - loadStart
        let train = dataset.train

        var configuration = modelOptions.configuration(imagesPerClass: imagesPerClass)
        configuration.threads = threads
        var distiller: Distiller
        do { distiller = try Distiller(train: train, configuration: configuration) } catch { throw CLIError(error) }
        let clock = Stopwatch()
        for _ in 0..<Self.warmUpSteps { _ = distiller.step(clock: { clock.seconds }) }
        guard let model = distiller.model as? NeuralKernelModel else { throw CLIError(BenchError.notAKernelModel(configuration.model)) }
        let pass = OuterPass(data: train, threads: threads)
        var fit = distiller.solveInner()

        func seconds(_ body: () -> Void) -> Double {
            let start = Stopwatch.now()
            body()
            return Stopwatch.now() - start
        }
        let m = distiller.images.rows
        let flops = 4 * Double(train.count) * Double(m) * Double(train.features)
        var peakRates: [Double] = [], passTimes: [Double] = [], forwardTimes: [Double] = [], innerTimes: [Double] = []
        var stepTimes: [Double] = [], boundRatios: [Double] = [], stepRatios: [Double] = []
        for _ in 0..<repetitions {
            peakRates.append(PeakCompute.measure(threads: threads, iterations: Self.peakIterations, repetitions: 1, clock: Stopwatch.now))
            passTimes.append(seconds { _ = model.loss(of: fit, on: pass, gradient: true) })
            forwardTimes.append(seconds { _ = model.loss(of: fit, on: pass, gradient: false) })
            innerTimes.append(seconds { fit = distiller.solveInner() })
            stepTimes.append(distiller.step(clock: { clock.seconds }).seconds)
            boundRatios.append(Self.rate(passTimes[passTimes.count - 1], per: flops / peakRates[peakRates.count - 1]))
            stepRatios.append(Self.rate(stepTimes[stepTimes.count - 1], per: flops / peakRates[peakRates.count - 1]))
            fit = distiller.solveInner()
        }
        let passSeconds = median(passTimes)
        // The share of the dense 2 n m p multiply-adds the pass did (below 1 where it skipped
        // zero pixels): the GFLOP/s and the bound above count the dense operations.
        let work = model.passWork(of: fit, on: pass)
        let multiplyAddFraction = work.multiplyAdds / (flops / 2)
        return KernelBenchReport(
            model: configuration.model, depth: configuration.kernelDepth, outerLoss: configuration.outerLoss.rawValue,
            passMs: 1000 * passSeconds, forwardPassMs: 1000 * median(forwardTimes), innerSolveMs: 1000 * median(innerTimes),
            stepMs: 1000 * median(stepTimes), loadMs: 1000 * loadSeconds,
            passGflops: Self.rate(flops / 1e9, per: passSeconds), peakGflops: median(peakRates) / 1e9,
            boundMs: 1000 * flops / max(median(peakRates), 1), passToBoundRatio: median(boundRatios),
            stepToBoundRatio: median(stepRatios), multiplyAddFraction: multiplyAddFraction, peakRSSBytes: ProcessMemory.peakResidentBytes() ?? 0,
            threads: threads, imagesPerClass: imagesPerClass, supportImages: m, repetitions: repetitions,
            trainImages: train.count, features: train.features, classes: train.classes,
            avx512: NeuralKernelPass(data: train, threads: threads).usesAVX512, amxProducts: work.usedAMX)
    }
}

/// The medians `distill bench --model nngp|ntk` measures, in milliseconds unless named otherwise.
struct KernelBenchReport: Codable, Equatable {
    var model: String
    var depth: Int
    /// The outer loss the pass computed (`--outer-loss`, or the model's default at the size).
    var outerLoss: String
    /// The fused pass with the gradients (loss, accuracy, ∂L/∂α, ∂L/∂S) over the training set.
    var passMs: Double
    /// The same pass without the gradients.
    var forwardPassMs: Double
    /// The inner solve (the kernel matrix of the support set and its Cholesky solve).
    var innerSolveMs: Double
    var stepMs: Double
    var loadMs: Double
    /// 4 n m p operations (the two products with the support set) per pass.
    var passGflops: Double
    /// The peak-FMA loop's rate on the same threads, measured before each pass; median.
    var peakGflops: Double
    /// 4 n m p operations at the median peak rate.
    var boundMs: Double
    /// Median over the repetitions of (pass) / (its operations at the peak rate measured just before it).
    var passToBoundRatio: Double
    /// The same for the whole outer step.
    var stepToBoundRatio: Double
    /// The multiply-adds the pass did over the dense 2 n m p that passGflops and the bound
    /// count: below 1 where the kernel skipped zero pixels (same results, less work, not a faster FMA).
    var multiplyAddFraction: Double
    var peakRSSBytes: Int
    var threads: Int
    var imagesPerClass: Int
    var supportImages: Int
    var repetitions: Int
    var trainImages: Int
    var features: Int
    var classes: Int
    var avx512: Bool
    /// Whether the two products ran on AMX-INT8 tiles (exact integer products; byte images,
    /// 3 to 16 support images, a CPU and OS that allow the tiles: `NeuralKernelPass.Products`).
    var amxProducts: Bool

    enum CodingKeys: String, CodingKey {
        case model, depth, threads, repetitions, classes, features, avx512
        case amxProducts = "amx_products", outerLoss = "outer_loss"
        case passMs = "pass_ms", forwardPassMs = "forward_pass_ms", innerSolveMs = "inner_solve_ms", stepMs = "step_ms"
        case loadMs = "load_ms", passGflops = "pass_gflops", peakGflops = "peak_gflops", boundMs = "bound_ms"
        case passToBoundRatio = "pass_to_bound_ratio", stepToBoundRatio = "step_to_bound_ratio"
        case multiplyAddFraction = "multiply_add_fraction"
        case peakRSSBytes = "peak_rss_bytes", imagesPerClass = "images_per_class", supportImages = "support_images"
        case trainImages = "train_images"
    }

    var json: String { (try? oneLineJSON()) ?? "{}" }

    /// The "work done" row: the share of the dense multiply-adds the pass did, and how.
    var workDone: String {
        if amxProducts {
            return "100% of the dense 2 n m p multiply-adds, as exact integer products on AMX-INT8 tiles "
                + "(GFLOP/s and the bound count the dense Float32 ones)"
        }
        let share = "\(format(100 * multiplyAddFraction, 1))% of the dense 2 n m p multiply-adds"
        return multiplyAddFraction < 0.9995 ? share + " (zero pixels skipped; GFLOP/s and the bound count the dense ones)"
                                            : share + " (no zero pixels skipped at this support set size)"
    }

    var table: String {
        func ms(_ x: Double) -> String { format(x, 2) + " ms" }
        let rows: [(String, String)] = [
            ("fused pass", ms(passMs) + "  (\(format(passGflops, 1)) GFLOP/s, \(format(passToBoundRatio, 2))x the bound"
                + "\(avx512 ? ", AVX-512" : "")\(amxProducts ? ", products on AMX-INT8 tiles" : ""))"),
            ("  work done", workDone),
            ("  loss only", ms(forwardPassMs)),
            ("compute bound", ms(boundMs) + "  (4 n m p operations at the peak FMA loop's \(format(peakGflops, 1)) GFLOP/s, same run)"),
            ("inner solve", ms(innerSolveMs)),
            ("whole step", ms(stepMs) + "  (\(format(stepToBoundRatio, 2))x the bound)"),
            ("data loading", ms(loadMs)),
            ("peak memory", format(Double(peakRSSBytes) / 1e6, 1) + " MB"),
            ("threads", "\(threads)"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        let header = "Medians of \(repetitions) runs, --model \(model) --depth \(depth) --outer-loss \(outerLoss), n = \(trainImages) training images of p = \(features) pixels, \(classes) classes, m = \(supportImages) support images (\(imagesPerClass) per class):"
        return ([header] + rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 })
            .joined(separator: "\n")
    }
}
