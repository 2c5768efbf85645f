import Distill
import DistillImages
import DistillIO
import DistillNumerics
import Foundation

/// Writes a finished run into its output folder. Every file is written
/// atomically (a temporary file renamed into place).
public struct RunOutputs: Sendable {
    public let folder: String
    /// The shape of one image.
    public let shape: ImageShape

    public init(folder: String, shape: ImageShape) {
        self.folder = folder
        self.shape = shape
    }

    public static let grid = RunFiles.grid
    public static let images = RunFiles.images
    public static let labels = RunFiles.classLabels
    public static let softLabels = RunFiles.softLabels
    public static let history = RunFiles.history
    public static let metrics = RunFiles.metrics

    public var files: [String] { [Self.grid, Self.images, Self.labels, Self.softLabels, Self.history, Self.metrics] }

    public func path(_ name: String) -> String { folder + "/" + name }

    /// Writes every file as one set (`OutputFile.write(_:)`): if any cannot be
    /// written, none is changed and no temporary file is left. `grid` is the
    /// picture of the images (distilled.png), drawn by the caller.
    ///
    /// - Throws: the file that cannot be written and why.
    public func write(_ outcome: DistillationOutcome, grid picture: PNGImage) throws {
        try OutputFile.write(try contents(outcome, grid: picture))
    }

    /// Every file of `files` for `outcome`, by path, with its bytes (what `write` writes).
    ///
    /// - Throws: a value that cannot be encoded (the file and why).
    public func contents(_ outcome: DistillationOutcome, grid picture: PNGImage) throws -> [(path: String, bytes: [UInt8])] {
        let distiller = outcome.distiller, history = outcome.history, metrics = outcome.metrics
        let images = distiller.images
        let imageShape = shape.channels == 1 ? [images.rows, shape.height, shape.width]
            : [images.rows, shape.height, shape.width, shape.channels]
        let imageArray = try IDXArray(shape: imageShape, elements: Self.floatElements(images.values))
        // Each image's label as the dataset's files number it (its class index
        // when they name the classes), ubyte while they fit, else int32: never truncated.
        let labelArray = try IDXArray(shape: [images.rows],
                                      elements: Self.labelElements(distiller.imageClasses.map { metrics.classValues?[$0] ?? $0 }))
        // The labels the inner model was trained with (one-hot rows unless learned).
        let softLabels = try IDXArray(shape: [distiller.labels.rows, distiller.labels.columns],
                                      elements: Self.floatElements(distiller.labels.values))
        return [
            (path(Self.grid), try picture.encoded(nameForErrors: path(Self.grid))),
            (path(Self.images), IDX.encode(imageArray)),
            (path(Self.labels), IDX.encode(labelArray)),
            (path(Self.softLabels), IDX.encode(softLabels)),
            (path(Self.history), Array(Self.csv(history, batched: distiller.configuration.batch != nil).utf8)),
            (path(Self.metrics), try Self.json(metrics)),
        ]
    }

    /// IDX float32 elements when every value survives the conversion (finite
    /// stays finite, non-zero stays non-zero: only Float's rounding), else
    /// float64 (the same format's wider type), so that a value beyond Float's
    /// range (unbounded pixels, learned labels) is never written as ±infinity or 0.
    public static func floatElements(_ values: [Double]) -> IDXElements {
        let fits = values.allSatisfy { x in
            let f = Float(x)
            return (f.isFinite || !x.isFinite) && (f != 0 || x == 0)
        }
        return fits ? .float32(values.map { Float($0) }) : .float64(values)
    }

    /// Label values as IDX ubyte when every one lies in 0...255, else int32 (the
    /// values come from IDX or CIFAR label files, so they fit in Int32).
    public static func labelElements(_ values: [Int]) -> IDXElements {
        values.allSatisfy { (0...255).contains($0) } ? .ubyte(values.map { UInt8($0) }) : .int32(values.map { Int32(clamping: $0) })
    }

    /// Rewrites metrics.json (atomically), e.g. after adding baselines, with
    /// `alongside` (names in the folder, and bytes: a report showing them) as one set.
    public func writeMetrics(_ metrics: RunMetrics, alongside: [(name: String, bytes: [UInt8])] = []) throws {
        try OutputFile.write([(path(Self.metrics), try Self.json(metrics))] + alongside.map { (path($0.name), $0.bytes) })
    }

    /// metrics.json's bytes: pretty-printed, sorted keys, a final newline.
    static func json(_ metrics: RunMetrics) throws -> [UInt8] {
        let encoder = JSONEncoder.total()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(metrics)) + [UInt8(ascii: "\n")]
    }

    /// One row per step: step, train_loss, inner_iterations, inner_gradient_norm,
    /// linear_solve_iterations, linear_solve_residual, seconds (then train_accuracy).
    /// With `batched` (`--batch`) the loss and accuracy are the step's batch's, and
    /// their columns are named so: batch_loss and batch_accuracy.
    public static func csv(_ history: [StepRecord], batched: Bool = false) -> String {
        let (loss, accuracy) = batched ? ("batch_loss", "batch_accuracy") : ("train_loss", "train_accuracy")
        var text = "step,\(loss),inner_iterations,inner_gradient_norm,linear_solve_iterations,linear_solve_residual,seconds,\(accuracy)\n"
        for r in history {
            let n = NumberText.shortest as (Double) -> String
            text += "\(r.step),\(n(r.trainLoss)),\(r.innerIterations),\(n(r.innerGradientNorm)),\(r.linearSolveIterations),\(n(r.linearSolveResidual)),\(n(r.seconds)),\(n(r.trainAccuracy))\n"
        }
        return text
    }
}
