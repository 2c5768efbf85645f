import Distill
import DistillIO
import DistillRun
import Foundation

/// `report.html`: one self-contained page about a run, to open in a browser.
/// Nothing is fetched: the pictures are PNG data URIs and the charts inline
/// SVG, with the styles in the page.
///
/// It shows the distilled images at a readable size with their class names,
/// the training-loss curve, the test-accuracy curve (or the final accuracy as
/// one point when it was not measured during the run), the final metrics
/// beside any baselines, the options, the command that reproduces the run,
/// and the timing.
struct ReportPage {
    /// A model to compare with: its name, test accuracy (a fraction) and,
    /// when known, its training loss.
    struct Baseline: Equatable {
        var name: String
        var testAccuracy: Double
        var trainLoss: Double?
    }


    /// One class's distilled images as a PNG.
    struct ClassPicture {
        var name: String
        var png: [UInt8]
        var width: Int, height: Int
    }

    var metrics: RunMetrics
    var history: [StepRecord]
    /// Test accuracy during the run (`--eval-every`); empty when not measured.
    var testAccuracy: [TestAccuracyProbe.Point]
    var classes: [ClassPicture]
    /// progress.png, when snapshots were taken.
    var progressSheet: ClassPicture?
    var baselines: [Baseline]?
    /// The command line of the run, as `CommandLine.arguments`.
    var command: [String]
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
        body += "<p class=\"lead\">Test accuracy <b>\(percent(m.testAccuracy))</b>, training loss <b>\(format(m.trainLoss, 4))</b> after \(m.steps) steps in \(format(m.seconds, 1)) s.</p>\n"

        body += "<section><h2>The distilled images</h2>\n<div class=\"classes\">\n"
        for picture in classes {
            body += "<figure>" + image(picture, alt: "distilled images of class \(picture.name)")
                + "<figcaption>\(escaped(picture.name))</figcaption></figure>\n"
        }
        body += "</div>\n<p class=\"note\">" + (m.pixelRange == "unit"
            ? "Pixels in [0, 1]: 0 is black, 1 is white."
            : "Each image is scaled by its own largest magnitude: mid-grey is 0, white is positive, black negative.")
            + "</p></section>\n"

        body += "<section class=\"charts\"><div><h2>Training loss</h2>\n"
        body += SVGChart(points: history.map { (Double($0.step), $0.trainLoss) }, xLabel: "step", yLabel: "training loss").svg
        body += "</div><div><h2>Test accuracy</h2>\n"
        if testAccuracy.isEmpty {
            body += SVGChart(points: [(Double(m.steps), 100 * m.testAccuracy)], xLabel: "step", yLabel: "test accuracy (%)",
                             xRange: 0...Double(max(1, m.steps)), yRange: 0...100, color: "#2ca02c").svg
            body += "<p class=\"note\">Measured once, at the end. Run with <code>--eval-every 20</code> to follow it during the run.</p>"
        } else {
            body += SVGChart(points: testAccuracy.map { (Double($0.step), 100 * $0.accuracy) }, xLabel: "step",
                             yLabel: "test accuracy (%)", color: "#2ca02c").svg
        }
        body += "</div></section>\n"

        if let progressSheet {
            body += "<section><h2>How they emerged</h2>\n" + image(progressSheet, alt: "the distilled images at several steps")
                + "\n<p class=\"note\">progress.png: the images at a few steps of the run (snapshots/ holds them all).</p></section>\n"
        }

        body += "<section><h2>Results</h2>\n" + resultsTable() + "</section>\n"
        body += "<section><h2>Options</h2>\n" + table(options) + "\n<p>To run it again:</p>\n<pre><code>"
            + escaped(Self.shellCommand(command)) + "</code></pre></section>\n"
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

    private func resultsTable() -> String {
        let m = metrics
        var rows = "<tr><th>model</th><th>test accuracy</th><th>training loss</th></tr>\n"
        rows += "<tr class=\"ours\"><td>distilled (this run)</td><td>\(percent(m.testAccuracy))</td><td>\(format(m.trainLoss, 4))</td></tr>\n"
        for b in baselines ?? [] {
            rows += "<tr><td>\(escaped(b.name))</td><td>\(percent(b.testAccuracy))</td><td>\(b.trainLoss.map { format($0, 4) } ?? "–")</td></tr>\n"
        }
        let details: [(String, String)] = [
            ("training accuracy", percent(m.trainAccuracy)),
            ("test loss", format(m.testLoss, 4)),
            ("inner gradient norm", "\(scientific(m.innerGradientNorm)) (tolerance \(scientific(m.innerTolerance)), \(m.innerIterations) iterations)"),
            ("L2 strength of the final model", scientific(m.learnedL2)),
        ]
        return "<table class=\"results\">\(rows)</table>\n" + table(details)
    }

    private var options: [(String, String)] {
        let m = metrics
        return [
            ("dataset", "\(m.dataset) (\(m.classes) classes of \(m.imageHeight)x\(m.imageWidth) pixels)"),
            ("images per class", "\(m.imagesPerClass)"), ("steps", "\(m.steps)"),
            ("learning rate", "\(m.learningRate)"), ("L2", "\(m.l2)" + (m.learnL2 ? " (learned)" : "")),
            ("learned labels", m.learnLabels ? "on" : "off"), ("pixel range", m.pixelRange), ("pull", "\(m.pull)"),
            ("initialisation", m.initialisation), ("seed", "\(m.seed)"), ("threads", "\(m.threads)"),
        ]
    }

    private var timing: [(String, String)] {
        let m = metrics
        var rows = [("whole run", "\(format(m.seconds, 2)) s"), ("per step (median)", "\(format(1000 * m.secondsPerStep, 1)) ms"),
                    ("loading the data", "\(format(m.loadSeconds, 2)) s")]
        if let evaluationSeconds, !testAccuracy.isEmpty {
            rows.append(("measuring the test accuracy during the run", "\(format(evaluationSeconds, 2)) s"))
        }
        return rows
    }

    private func table(_ rows: [(String, String)]) -> String {
        "<table>" + rows.map { "<tr><th>\(escaped($0.0))</th><td>\(escaped($0.1))</td></tr>" }.joined(separator: "\n") + "</table>"
    }

    private func image(_ picture: ClassPicture, alt: String) -> String {
        "<img src=\"data:image/png;base64,\(Data(picture.png).base64EncodedString())\" width=\"\(picture.width)\" height=\"\(picture.height)\" alt=\"\(escaped(alt))\">"
    }

    private func percent(_ fraction: Double) -> String { format(100 * fraction, 2) + "%" }

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

/// A line chart as inline SVG: a framed plot with grid lines at round ticks,
/// tick labels and axis labels, the points joined by a line (non-finite
/// points break it), with dots when there are at most 40 points.
struct SVGChart {
    var points: [(x: Double, y: Double)]
    var xLabel: String
    var yLabel: String
    var xRange: ClosedRange<Double>? = nil
    var yRange: ClosedRange<Double>? = nil
    var color = "#1f77b4"
    var width = 520, height = 300

    var svg: String {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        let xs = finite.map(\.x), ys = finite.map(\.y)
        let x = LineChart.ticks(low: xRange?.lowerBound ?? xs.min() ?? 0, high: xRange?.upperBound ?? xs.max() ?? 1)
        let y = LineChart.ticks(low: yRange?.lowerBound ?? ys.min() ?? 0, high: yRange?.upperBound ?? ys.max() ?? 1)
        let left = 62.0, right = Double(width) - 14, top = 12.0, bottom = Double(height) - 46
        func px(_ v: Double) -> Double { left + (v - x.range.lowerBound) / max(1e-300, x.range.upperBound - x.range.lowerBound) * (right - left) }
        func py(_ v: Double) -> Double { bottom - (v - y.range.lowerBound) / max(1e-300, y.range.upperBound - y.range.lowerBound) * (bottom - top) }
        func n(_ v: Double) -> String { format(v, 1) }

        var s = "<svg viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(yLabel) against \(xLabel)\">\n"
        s += "<g font-size=\"12\" fill=\"#444\" stroke-width=\"1\">\n"
        for tick in x.ticks {
            s += "<line x1=\"\(n(px(tick.value)))\" y1=\"\(n(top))\" x2=\"\(n(px(tick.value)))\" y2=\"\(n(bottom))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(n(px(tick.value)))\" y=\"\(n(bottom + 16))\" text-anchor=\"middle\">\(tick.label)</text>\n"
        }
        for tick in y.ticks {
            s += "<line x1=\"\(n(left))\" y1=\"\(n(py(tick.value)))\" x2=\"\(n(right))\" y2=\"\(n(py(tick.value)))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(n(left - 6))\" y=\"\(n(py(tick.value) + 4))\" text-anchor=\"end\">\(tick.label)</text>\n"
        }
        s += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\" fill=\"none\" stroke=\"#888\"/>\n"
        s += "<text x=\"\(n((left + right) / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(xLabel)</text>\n"
        s += "<text transform=\"translate(14 \(n((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(yLabel)</text>\n</g>\n"
        var path = "", pen = false
        for point in points {
            guard point.x.isFinite, point.y.isFinite else { pen = false; continue }
            path += (pen ? " L" : (path.isEmpty ? "M" : " M")) + "\(n(px(point.x))) \(n(py(point.y)))"
            pen = true
        }
        if finite.count >= 2 {
            s += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n"
        }
        if finite.count <= 40 {
            for point in finite {
                s += "<circle cx=\"\(n(px(point.x)))\" cy=\"\(n(py(point.y)))\" r=\"3.5\" fill=\"\(color)\"><title>\(xLabel) \(format(point.x, 0)): \(format(point.y, 2))</title></circle>\n"
            }
        }
        return s + "</svg>\n"
    }
}

/// `text` with `& < > " '` escaped for HTML.
func escaped(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

extension ReportPage.Baseline {
    /// A baseline's row: its name with its size and L2, its mean test accuracy and training loss.
    init(_ result: BaselineResult) {
        let size = result.imagesPerClass.map { "\($0) per class" } ?? "all data"
        self.init(name: "\(result.name.replacingOccurrences(of: "_", with: " ")) (\(size), L2 \(result.l2))",
                  testAccuracy: result.testAccuracy, trainLoss: result.trainLoss)
    }
}
