import Distill
import DistillIO
import DistillRun
import Foundation

/// `report.html`: one self-contained page about a run, to open in a browser.
/// Nothing is fetched: the pictures are PNG data URIs and the charts inline
/// SVG (`LineChart`), with the styles in the page.
///
/// It shows the distilled images at a readable size with their class names,
/// the training-loss curve, the test-accuracy curve (measured during the run
/// by default; one point when the run was too short to afford it), the
/// snapshots with their steps, the final metrics beside any baselines, the
/// options (learned values marked as learned, with their final value), the
/// command that runs it again from any directory, and the timing.
struct ReportPage {
    /// A model to compare with: its name, test accuracy (a fraction) and,
    /// when known, its training loss.
    struct Baseline: Equatable {
        var name: String
        var testAccuracy: Double
        var trainLoss: Double?
        /// For the ceiling, what it was fitted on ("all data", "10000 training
        /// images"), the label of its line on the accuracy chart; nil otherwise.
        var ceilingLabel: String? = nil
        /// The sample standard deviation of the test accuracy over the draws
        /// (random real images); nil for a baseline drawn once.
        var testAccuracyStd: Double? = nil
        /// How many draws `testAccuracyStd` is over.
        var draws: Int? = nil

        /// What the "±" of `accuracyText` is, for the page's note and under the
        /// console's table: "± : the sample standard deviation ... over the 5 draws ...".
        var spreadNote: String {
            "± : the sample standard deviation of the test accuracy over the \(draws.map { "\($0) " } ?? "")draws of a baseline drawn at random (in points of percent)."
        }

        /// The test accuracy as the page and the console show it: "46.84% ± 3.88"
        /// (points of percent) when it was drawn several times.
        var accuracyText: String {
            NumberText.percent(testAccuracy) + (testAccuracyStd.map { " ± " + NumberText.fixed(100 * $0, digits: 2) } ?? "")
        }
    }

    /// A PNG with a caption: one class's distilled images, or a snapshot.
    struct ClassPicture {
        var name: String
        var png: [UInt8]
        var width: Int, height: Int
    }

    var metrics: RunMetrics
    var history: [StepRecord]
    /// Test accuracy during the run; empty when not measured.
    var testAccuracy: [TestAccuracyProbe.Point]
    var classes: [ClassPicture]
    /// The snapshots of progress.png, each captioned with its step (empty without snapshots).
    var snapshots: [ClassPicture]
    var baselines: [Baseline]?
    /// Whether a session of the run was resumed with `--steps` (`resumed_with`), which
    /// may have lengthened it: the steps before it then followed the shorter run's
    /// learning-rate schedule, and the one rerun command, a run of the final length
    /// from the start, is another run.
    static func wasLengthened(_ m: RunMetrics) -> Bool {
        (m.resumedWith ?? []).contains { command in
            command.split(separator: " ").contains { $0 == "--steps" || $0.hasPrefix("--steps=") }
        }
    }

    static let lengthenedNote = "<p class=\"note\">This run was resumed with <code>--steps</code>. If that lengthened it, "
        + "its earlier steps followed the shorter run's learning-rate schedule and the command above runs another run of the same length; "
        + "to repeat this one, run the command that started it (<code>command_line</code> in metrics.json) and then the commands that "
        + "resumed it (<code>resumed_with</code>), in order, each with a new folder for <code>--out</code> and <code>--resume</code>.</p>\n"

    /// The command that runs it again (`RerunCommand.arguments`).
    var rerun: [String]
    /// The files of the output folder, for the list at the end.
    var files: [String]
    /// Seconds spent measuring the test accuracy during the run.
    var evaluationSeconds: Double?

    static let fileName = "report.html"

    /// The enlargement of the distilled images on the page: about 96 pixels
    /// across (3 for MNIST's 28, so ten classes fit on one line), from 1 to 8.
    static func zoom(imageWidth: Int) -> Int { min(8, max(1, 96 / max(1, imageWidth))) }

    var html: String {
        let m = metrics
        var body = "<h1>Distilled \(escaped(m.dataset)): \(m.imagesPerClass) image\(m.imagesPerClass == 1 ? "" : "s") per class</h1>\n"
        body += "<p class=\"lead\">Test accuracy <b>\(NumberText.percent(m.testAccuracy))</b>, training loss <b>\(NumberText.fixed(m.trainLoss, digits: 4))</b> after \(m.steps) steps in \(NumberText.duration(m.seconds)).</p>\n"

        body += "<section><h2>The distilled images</h2>\n<div class=\"classes\">\n"
        for picture in classes {
            body += "<figure>" + image(picture, alt: "distilled images of class \(picture.name)")
                + "<figcaption>\(escaped(picture.name))</figcaption></figure>\n"
        }
        body += "</div>\n<p class=\"note\">" + pixelNote + "</p></section>\n"

        // With --batch, each step's loss is that of its batch of training images.
        let batchText = m.configuration.batch.map { " (each step's batch of \($0) images)" } ?? ""
        let lossName = m.configuration.batch == nil ? "training loss" : "batch loss"
        body += "<section class=\"charts\"><div><h2>Training loss\(batchText)</h2>\n"
        body += LineChart(series: [LineChart.Series(name: lossName, points: history.map { (Double($0.step), $0.trainLoss) }, color: "#1f77b4")],
                          xLabel: "step", yLabel: lossName + " (cross-entropy)", width: 540, height: 320, identifier: "loss").svg(standalone: false)
        body += "</div><div><h2>Test accuracy</h2>\n"
        let accuracy = testAccuracy.isEmpty ? [(Double(m.steps), 100 * m.testAccuracy)] : testAccuracy.map { (Double($0.step), 100 * $0.accuracy) }
        var series = LineChart.Series(name: "test accuracy", points: accuracy, color: "#2ca02c")
        series.pointLabel = "step \(m.steps): \(NumberText.percent(m.testAccuracy))"
        // The ceiling, when trained (--baselines).
        let ceiling = (baselines ?? []).compactMap { b in
            b.ceilingLabel.map { LineChart.ReferenceLine(label: "\($0): \(NumberText.percent(b.testAccuracy))", y: 100 * b.testAccuracy, color: "#c0392b") }
        }
        body += LineChart(series: [series], referenceLines: ceiling, xLabel: "step", yLabel: "test accuracy (%)", yRange: accuracy.count < 2 ? 0...100 : nil,
                          width: 540, height: 320, identifier: "accuracy").svg(standalone: false)
        if accuracy.count < 2 {
            body += "<p class=\"note\">Measured at the end only. Run with <code>--eval-every N</code> to measure it every N steps during the run.</p>"
        } else if let evaluationSeconds {
            body += "<p class=\"note\">Measured every few steps on a copy of the run (the run itself is unchanged), in \(NumberText.duration(evaluationSeconds)): \(NumberText.percent(evaluationSeconds / max(m.seconds, 1e-9), digits: 1)) of the steps' time.</p>"
        }
        body += "</div></section>\n"

        if !snapshots.isEmpty {
            body += "<section><h2>How they emerged</h2>\n<div class=\"classes\">\n"
            for picture in snapshots {
                body += "<figure>" + image(picture, alt: "the distilled images at \(picture.name)") + "<figcaption>\(escaped(picture.name))</figcaption></figure>\n"
            }
            // progress.png has no text of its own (no font is drawn into pixels): its order is said here.
            let order = snapshots.map(\.name).joined(separator: ", ")
            body += "</div>\n<p class=\"note\">progress.png holds these side by side, left to right: \(escaped(order)) (it has no labels of its own); snapshots/ holds every snapshot, each file named by its step.</p></section>\n"
        }

        body += "<section><h2>Results</h2>\n" + resultsTable() + "</section>\n"
        body += "<section><h2>Options</h2>\n" + table(options) + "\n<p>To run it again (from any directory; into a new folder beside this one, which it leaves as it is):</p>\n<pre><code>"
            + escaped(Self.shellCommand(rerun)) + "</code></pre>\n" + (Self.wasLengthened(m) ? Self.lengthenedNote : "") + "</section>\n"
        body += "<section><h2>Timing</h2>\n" + table(timing) + "</section>\n"
        body += "<section><h2>Files</h2>\n<ul class=\"files\">"
            + files.map { "<li><a href=\"\(escaped($0))\">\(escaped($0))</a></li>" }.joined() + "</ul></section>\n"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Distill report: \(escaped(m.dataset)), \(m.imagesPerClass) per class</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    // MARK: Parts

    /// How the pictures' pixels read (`GreyScale.unitRange` or `.symmetricPerImage`),
    /// for grey images or, with 3 channels, for colour ones (each channel drawn so).
    var pixelNote: String {
        let colour = metrics.imageChannels == 3
        if metrics.pixelRange == "unit" {
            return colour ? "Pixels in [0, 1] in each channel (red, green, blue), shown as they are: 0 is none of that colour, 1 all of it; (0, 0, 0) is black, (1, 1, 1) white."
                : "Pixels in [0, 1]: 0 is black, 1 is white."
        }
        return colour ? "Each image is scaled by its own largest magnitude over its three channels: in each channel 0 shows at half intensity, positive values brighter, negative ones darker, so an image of zeros is mid-grey."
            : "Each image is scaled by its own largest magnitude: mid-grey is 0, white is positive, black negative."
    }

    private func resultsTable() -> String {
        let m = metrics
        var rows = "<tr><th>model</th><th>test accuracy</th><th>training loss</th></tr>\n"
        rows += "<tr class=\"ours\"><td>distilled (this run)</td><td>\(NumberText.percent(m.testAccuracy))</td><td>\(NumberText.fixed(m.trainLoss, digits: 4))</td></tr>\n"
        for b in baselines ?? [] {
            rows += "<tr><td>\(escaped(b.name))</td><td>\(escaped(b.accuracyText))</td><td>\(b.trainLoss.map { NumberText.fixed($0, digits: 4) } ?? "–")</td></tr>\n"
        }
        let details: [(String, String)] = [
            ("training accuracy", NumberText.percent(m.trainAccuracy)),
            ("test loss", NumberText.fixed(m.testLoss, digits: 4)),
            ("final inner solve", innerSolve),
            ("L2 strength of the final model", NumberText.compact(m.learnedL2) + (m.learnL2 ? " (learned)" : "")),
        ]
        // What the spread is, as under the console's table.
        let spread = (baselines ?? []).first { $0.testAccuracyStd != nil }.map { b in
            "<p class=\"note\">\(escaped(b.spreadNote))</p>\n"
        } ?? ""
        return "<table class=\"results\">\(rows)</table>\n" + spread + table(details)
    }

    /// How the final model was solved: a closed form has no iterations; a
    /// warm start already within tolerance is said so rather than "0 iterations".
    var innerSolve: String {
        let m = metrics
        if m.model == "logistic-unrolled" { return "\(m.innerIterations) gradient-descent steps from zero (unrolled)" }
        if m.model != LogisticModel.modelName { return "closed form (\(m.model))" }
        let norm = "gradient norm \(NumberText.scientific(m.innerGradientNorm)) (tolerance \(NumberText.scientific(m.innerTolerance)))"
        switch m.innerIterations {
        case 0: return norm + ", within tolerance at its warm start"
        case 1: return norm + ", 1 Newton iteration"
        default: return norm + ", \(m.innerIterations) Newton iterations"
        }
    }

    var options: [(String, String)] {
        let m = metrics
        let l2 = m.learnL2
            ? "\(NumberText.compact(m.learnedL2)) (learned, from \(NumberText.shortest(m.l2)))"
            : NumberText.shortest(m.l2)
        return [
            ("dataset", "\(m.dataset) (\(m.classes) classes of \(m.imageHeight)x\(m.imageWidth) pixels)"),
            ("images per class", "\(m.imagesPerClass)"), ("steps", "\(m.steps)"),
            ("inner model", m.model),
        ] + modelSettings + [
            ("learning rate", NumberText.shortest(m.learningRate) + " (\(m.configuration.schedule.rawValue) schedule)"), ("L2", l2),
            ("labels", m.learnLabels ? "learned (soft labels, starting one-hot)" : "one-hot (fixed)"),
            ("pixel range", m.pixelRange), ("pull", NumberText.shortest(m.pull)),
            ("initialisation", m.initialisation), ("seed", "\(m.seed)"), ("threads", "\(m.threads)"),
        ]
    }

    /// The rows of the settings only some models read, for those this run's
    /// model read (`RecordedConfiguration.recorded`): the NNGP/NTK network
    /// (depth, variances) and outer loss, the RBF bandwidth, an unrolled
    /// hypergradient and the outer batch. Without them the page of `--model ntk
    /// --depth 3 --outer-loss mse` did not say which kernel or loss it used.
    var modelSettings: [(String, String)] {
        let c = metrics.configuration, v = c.values
        var rows: [(String, String)] = []
        if c.recorded.contains(.kernelDepth) { rows.append(("depth", "\(v.kernelDepth) hidden ReLU layers")) }
        if c.recorded.contains(.weightVariance) { rows.append(("weight variance", NumberText.shortest(v.weightVariance))) }
        if c.recorded.contains(.biasVariance) { rows.append(("bias variance", NumberText.shortest(v.biasVariance))) }
        if c.recorded.contains(.outerLoss) { rows.append(("outer loss", v.outerLoss.rawValue)) }
        if c.recorded.contains(.kernelBandwidth), let bandwidth = v.kernelBandwidth {
            rows.append(("kernel bandwidth", NumberText.shortest(bandwidth)))
        }
        if v.hypergradient == .unrolled {
            rows.append(("hypergradient", "unrolled" + (c.recorded.contains(.unrollSteps) ? " through \(v.unrollSteps) steps" : "")))
        }
        if c.recorded.contains(.batch), let batch = v.batch { rows.append(("batch", "\(batch) training images a step")) }
        return rows
    }

    private var timing: [(String, String)] {
        let m = metrics
        var rows = [("all steps, in total", NumberText.duration(m.seconds)), ("median step", NumberText.milliseconds(m.secondsPerStep)),
                    ("loading the data", NumberText.duration(m.loadSeconds))]
        if let evaluationSeconds, !testAccuracy.isEmpty {
            rows.append(("measuring the test accuracy during the run", NumberText.duration(evaluationSeconds)))
        }
        return rows
    }

    private func table(_ rows: [(String, String)]) -> String {
        "<table>" + rows.map { "<tr><th>\(escaped($0.0))</th><td>\(escaped($0.1))</td></tr>" }.joined(separator: "\n") + "</table>"
    }

    private func image(_ picture: ClassPicture, alt: String) -> String {
        "<img src=\"data:image/png;base64,\(Data(picture.png).base64EncodedString())\" width=\"\(picture.width)\" height=\"\(picture.height)\" alt=\"\(escaped(alt))\">"
    }

    /// `arguments` as one shell command line: arguments that need it are put in
    /// single quotes (a quote inside becomes `'\''`).
    static func shellCommand(_ arguments: [String]) -> String {
        arguments.map { argument in
            let plain = !argument.isEmpty && argument.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || "0123456789-_./=:,+@%".unicodeScalars.contains($0)
            }
            return plain ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }

    static let style = """
        body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0 auto; max-width: 1120px; padding: 20px 28px; }
        h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 10px; }
        .lead { font-size: 17px; margin: 0 0 18px; }
        section { border: 1px solid #ddd; border-radius: 8px; padding: 14px 18px; margin: 0 0 16px; background: #fff; }
        .classes { display: flex; flex-wrap: wrap; gap: 10px; }
        figure { margin: 0; text-align: center; }
        figcaption { font-weight: 600; margin-top: 2px; }
        img { image-rendering: pixelated; display: block; margin: 0 auto; max-width: 100%; height: auto; }
        .charts { display: flex; flex-wrap: wrap; gap: 24px; } .charts > div { flex: 1 1 480px; min-width: 0; }
        svg { width: 100%; height: auto; display: block; }
        table { border-collapse: collapse; margin: 0 0 10px; }
        th, td { text-align: left; padding: 3px 14px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
        th { font-weight: 600; color: #444; }
        table.results td:nth-child(n+2) { font-variant-numeric: tabular-nums; }
        tr.ours td { font-weight: 600; }
        .note { color: #666; font-size: 13px; margin: 6px 0 0; }
        pre { background: #f5f5f5; padding: 10px; border-radius: 6px; white-space: pre-wrap; word-break: break-all; }
        ul.files { columns: 2; margin: 0; }
        """
}

/// `text` with `& < > " '` escaped for HTML (the same escaping as the SVG charts').
func escaped(_ text: String) -> String { LineChart.escaped(text) }

extension ReportPage.Baseline {
    /// A baseline's row: its name with its size and L2, its mean test accuracy
    /// and training loss. The ceiling (`full_data`) is "full data (all data, ...)"
    /// when `ceiling` (its size) says it saw the whole training set, else
    /// "ceiling (10000 of the 60000 training images, ...)".
    init(_ result: BaselineResult, ceiling: CeilingSize? = nil) {
        let l2 = "L2 \(NumberText.shortest(result.l2))"
        if result.name == "full_data" {
            if let ceiling, !ceiling.isAll {
                self.init(name: "ceiling (\(ceiling.images) of the \(ceiling.trainingImages) training images, \(l2))", testAccuracy: result.testAccuracy,
                          trainLoss: result.trainLoss, ceilingLabel: ceiling.label)
            } else {
                self.init(name: "full data (all data, \(l2))", testAccuracy: result.testAccuracy, trainLoss: result.trainLoss,
                          ceilingLabel: CeilingSize.label(subsetImages: nil))
            }
            return
        }
        let size = result.imagesPerClass.map { "\($0) per class" } ?? "all data"
        self.init(name: "\(result.name.replacingOccurrences(of: "_", with: " ")) (\(size), \(l2))",
                  testAccuracy: result.testAccuracy, trainLoss: result.trainLoss,
                  testAccuracyStd: result.testAccuracyStd, draws: result.testAccuracyStd == nil ? nil : result.draws)
    }
}
