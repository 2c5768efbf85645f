import ArgumentParser
import Distill
import DistillIO
import DistillRun
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The options of `run` that decide what it shows while it runs and what it
/// writes beside the results.
struct DisplayOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How progress is printed: text (a live line on a terminal, a plain line every so often otherwise) or json (one JSON object per step on standard output, the rest on standard error).", valueName: "text|json"))
    var logFormat = LogFormat.text

    @Option(help: ArgumentHelp("Measure the test accuracy every N steps during the run (on a copy, so the run is unchanged), for the progress line and report.html's curve.", valueName: "N"))
    var evalEvery: Int?

    @Option(help: ArgumentHelp("Write the grid of images every N steps to snapshots/step-NNNNN.png, and a progress.png that shows a few of them side by side.", valueName: "N"))
    var snapshotEvery: Int?

    @Option(help: ArgumentHelp("A text file naming the classes, one name per line in class order, for report.html and progress.png (by default a class is named by its index).", valueName: "file"))
    var classNames: String?

    func validate() throws {
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be at least 1, got \(evalEvery).") }
        if let snapshotEvery, snapshotEvery < 1 { throw ValidationError("--snapshot-every must be at least 1, got \(snapshotEvery).") }
    }

    /// The class names: from `--class-names`, or each class's index.
    func names(classes: Int) throws(CLIError) -> [String] {
        try classNames.map { path throws(CLIError) in try ClassNames.load(path, classes: classes) }
            ?? ClassNames.defaults(classes: classes)
    }
}

/// How progress is printed.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// What `run` shows while a distillation runs and writes after it: the
/// observers for progress, test accuracy and snapshots, then progress.png,
/// report.html and the final summary.
final class RunDisplay {
    let observers: [any DistillationObserver]
    let probe: TestAccuracyProbe?
    let snapshots: SnapshotWriter?
    let classNames: [String]
    let quiet: Bool
    let logFormat: LogFormat

    /// `out` must exist (snapshots/ is created in it).
    init(_ options: DisplayOptions, quiet: Bool, dataset: LoadedDataset, out: String, zoom: Int,
         classNames: [String], terminal: Bool = isatty(1) == 1) throws(CLIError) {
        self.classNames = classNames
        self.quiet = quiet
        self.logFormat = options.logFormat
        let plain = !quiet && options.logFormat == .text && !terminal
        probe = options.evalEvery.map { TestAccuracyProbe(every: $0, test: dataset.test, log: plain ? { print($0) } : nil) }
        snapshots = try options.snapshotEvery.map { every throws(CLIError) in
            try SnapshotWriter(folder: out + "/" + SnapshotWriter.folderName, every: every,
                               height: dataset.shape.height, width: dataset.shape.width, zoom: zoom)
        }
        let optional: [(any DistillationObserver)?] = [probe, snapshots]
        var observers = optional.compactMap { $0 }
        switch (quiet, options.logFormat, terminal) {
        case (true, _, _): observers.append(ProgressLines(log: { _ in }))  // warnings only
        case (false, .json, _): observers.append(JSONStepLines(write: { writeOut($0) }, probe: probe))
        case (false, .text, true): observers.append(LiveProgressLine(write: { writeOut($0) }, probe: probe))
        case (false, .text, false): observers.append(ProgressLines(log: { print($0) }))
        }
        self.observers = observers
    }

    /// Writes progress.png (with snapshots) and report.html into `outputs`'
    /// folder; returns the names of the files and folders added beside `outputs.files`.
    func writeExtras(_ outcome: DistillationOutcome, outputs: RunOutputs, zoom: Int,
                     command: [String] = CommandLine.arguments) throws(CLIError) -> [String] {
        do {
            var written: [String] = []
            var sheet: ReportPage.ClassPicture? = nil
            if let snapshots {
                let picture = try snapshots.contactSheet(classNames: classNames)
                let bytes = try picture.encoded(nameForErrors: outputs.path(Self.progress))
                try OutputFile.write(bytes, to: outputs.path(Self.progress))
                sheet = ReportPage.ClassPicture(name: "progress", png: bytes, width: picture.width, height: picture.height)
                written += [Self.progress, SnapshotWriter.folderName + "/"]
            }
            let distiller = outcome.distiller, pixels = DistilledPicture.pixels(distiller)
            var pictures: [ReportPage.ClassPicture] = []
            for (index, name) in classNames.enumerated() {
                let grid = try DistilledPicture.classGrid(pixels, class: index, configuration: distiller.configuration,
                                                          height: outputs.shape.height, width: outputs.shape.width, zoom: ReportPage.zoom(imageWidth: outputs.shape.width))
                pictures.append(ReportPage.ClassPicture(name: name, png: try grid.encoded(nameForErrors: ReportPage.fileName),
                                                        width: grid.width, height: grid.height))
            }
            written.append(ReportPage.fileName)
            let page = ReportPage(metrics: outcome.metrics, history: outcome.history, testAccuracy: probe?.points ?? [],
                                  classes: pictures, progressSheet: sheet,
                                  baselines: outcome.metrics.baselines?.map { ReportPage.Baseline($0) }, command: command,
                                  files: outputs.files + written, evaluationSeconds: probe?.seconds)
            try OutputFile.write(page.html, to: outputs.path(ReportPage.fileName))
            return written
        } catch {
            throw CLIError(error)
        }
    }

    static let progress = "progress.png"

    /// The summary block at the end (on standard error with `--log-format json`,
    /// so that standard output holds only JSON lines).
    func summary(_ outcome: DistillationOutcome, folder: String, files: [String]) -> String {
        let m = outcome.metrics
        var lines = [
            "Done in \(format(m.seconds, 1)) s (\(format(1000 * m.secondsPerStep, 1)) ms per step).",
            "  final train loss   \(format(m.trainLoss, 4))   (train accuracy \(format(100 * m.trainAccuracy, 2))%)",
            "  test accuracy      \(format(100 * m.testAccuracy, 2))%",
            "  files in \(folder)/  \(files.joined(separator: ", "))",
        ]
        if files.contains(ReportPage.fileName) { lines.append("  open \(folder)/\(ReportPage.fileName) in a browser to look at the run.") }
        return lines.joined(separator: "\n")
    }

    func printSummary(_ outcome: DistillationOutcome, folder: String, files: [String]) {
        let text = summary(outcome, folder: folder, files: files)
        if logFormat == .json { printError(text) } else { print(text) }
    }
}

/// Writes `text` to standard output as it is and flushes it (so that a
/// progress line appears at once, in order with `print`).
func writeOut(_ text: String) {
    print(text, terminator: "")
    fflush(nil)  // every output stream: naming `stdout` is not concurrency-safe
}
