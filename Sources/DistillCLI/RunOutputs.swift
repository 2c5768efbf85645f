import Distill
import DistillIO
import DistillNumerics
import Foundation

/// Writes a finished run into its output folder. Every file is written
/// atomically (a temporary file renamed into place).
struct RunOutputs {
    let folder: String
    let height: Int
    let width: Int
    let zoom: Int

    static let grid = "distilled.png"
    static let images = "distilled-images-idx3-float"
    static let labels = "distilled-labels-idx1-ubyte"
    static let softLabels = "distilled-labels-idx2-float"
    static let history = "history.csv"
    static let metrics = "metrics.json"

    var files: [String] { [Self.grid, Self.images, Self.labels, Self.softLabels, Self.history, Self.metrics] }

    func path(_ name: String) -> String { folder + "/" + name }

    /// Writes every file as one set (`OutputFile.write(_:)`): if any cannot be
    /// written, none is changed and no temporary file is left.
    func write(_ outcome: DistillationOutcome) throws {
        let distiller = outcome.distiller, history = outcome.history, metrics = outcome.metrics
        let images = distiller.images
        let pixels = DistilledPicture.pixels(distiller)
        let picture = try DistilledPicture.grid(pixels, configuration: distiller.configuration, classes: distiller.classes,
                                                height: height, width: width, zoom: zoom)
        let imageArray = try IDXArray(shape: [images.rows, height, width], elements: .float32(pixels))
        let labelArray = try IDXArray(shape: [images.rows], elements: .ubyte(distiller.imageClasses.map { UInt8(truncatingIfNeeded: $0) }))
        // The labels the inner model was trained with (one-hot rows unless learned).
        let softLabels = try IDXArray(shape: [distiller.labels.rows, distiller.labels.columns],
                                      elements: .float32(distiller.labels.values.map { Float($0) }))
        let encoder = JSONEncoder.total()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = try encoder.encode(metrics)
        try OutputFile.write([
            (path(Self.grid), try picture.encoded(nameForErrors: path(Self.grid))),
            (path(Self.images), IDX.encode(imageArray)),
            (path(Self.labels), IDX.encode(labelArray)),
            (path(Self.softLabels), IDX.encode(softLabels)),
            (path(Self.history), Array(Self.csv(history).utf8)),
            (path(Self.metrics), Array(json) + [UInt8(ascii: "\n")]),
        ])
    }

    /// One row per step: step, train_loss, inner_iterations, inner_gradient_norm,
    /// cg_iterations, cg_residual, seconds (then train_accuracy).
    static func csv(_ history: [StepRecord]) -> String {
        var text = "step,train_loss,inner_iterations,inner_gradient_norm,cg_iterations,cg_residual,seconds,train_accuracy\n"
        for r in history {
            let n = NumberText.shortest as (Double) -> String
            text += "\(r.step),\(n(r.trainLoss)),\(r.innerIterations),\(n(r.innerGradientNorm)),\(r.cgIterations),\(n(r.cgResidual)),\(n(r.seconds)),\(n(r.trainAccuracy))\n"
        }
        return text
    }
}
