import ArgumentParser
import Distill
import DistillIO
import DistillImages
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

    @Option(parsing: .unconditional, help: ArgumentHelp("Measure the test accuracy every N steps during the run (on a copy, so the run is unchanged), for the progress line and report.html's curve. (default: chosen from the run's length so that measuring costs under 5% of the run)", valueName: "N"))
    var evalEvery: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Write the grid of images every N steps to snapshots/step-NNNNN.png, and a progress.png that shows a few of them side by side, evenly spread from the first step to the last, left to right (it has no text: report.html captions each with its step).", valueName: "N"))
    var snapshotEvery: Int?

    @Option(help: ArgumentHelp("A text file naming the classes, one name per line in class order, for report.html. (default: the dataset's names: class folder names, CIFAR's names files, else each class's index)", valueName: "file"))
    var classNames: String?

    func validate() throws {
        try refuseEmptyPath("--class-names", classNames, expected: "a file name")
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every: expected at least 1, found '\(evalEvery)'") }
        if let snapshotEvery, snapshotEvery < 1 { throw ValidationError("--snapshot-every: expected at least 1, found '\(snapshotEvery)'") }
    }

    /// The class names: from `--class-names`, else the dataset's own
    /// (`datasetNames`: an IDX folder's label values), else each class's index.
    ///
    /// - Throws: `CLIError` for a names file that cannot be read or has not one
    ///   name per class, or that holds the dataset's own names in another order
    ///   (`ClassNames.refuseReordered`).
    func names(classes: Int, datasetNames: [String]? = nil) throws(CLIError) -> [String] {
        try classNames.map { path throws(CLIError) in
            let names = try ClassNames.load(path, classes: classes)
            if let datasetNames { try ClassNames.refuseReordered(names, datasetNames: datasetNames, file: path) }
            return names
        }
            ?? datasetNames.flatMap { $0.count == classes ? $0 : nil }
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
///
/// Sendable because `extraFiles` may run on the thread that writes the set a
/// first signal asks for, while the observers run on the main thread: it reads
/// only constants and the probe's and snapshots' state behind their locks.
final class RunDisplay: @unchecked Sendable {
    let observers: [any DistillationObserver]
    let probe: TestAccuracyProbe?
    let snapshots: SnapshotWriter?
    let classNames: [String]
    let quiet: Bool
    let logFormat: LogFormat
    /// The training set, for the size of the baselines' ceiling (`CeilingSize`).
    let train: LabeledImages

    /// `out` must exist (snapshots/ is created in it). Without `progress`, no
    /// observer prints the steps (a sweep prints its own lines for each size).
    init(_ options: DisplayOptions, quiet: Bool, dataset: LoadedDataset, out: String, zoom: Int,
         classNames: [String], terminal: Bool = isatty(1) == 1, progress: Bool = true) throws(CLIError) {
        self.classNames = classNames
        self.quiet = quiet
        self.logFormat = options.logFormat
        train = dataset.train
        let plain = !quiet && options.logFormat == .text && !terminal
        probe = TestAccuracyProbe(every: options.evalEvery, test: dataset.test, log: plain ? { print($0) } : nil)
        snapshots = try options.snapshotEvery.map { every throws(CLIError) in
            try SnapshotWriter(folder: out + "/" + SnapshotWriter.folderName, every: every,
                               height: dataset.shape.height, width: dataset.shape.width,
                               channels: dataset.shape.channels, zoom: zoom)
        }
        let optional: [(any DistillationObserver)?] = [probe, snapshots]
        var observers = optional.compactMap { $0 }
        switch (quiet, options.logFormat, terminal) {
        case _ where !progress: break
        case (true, _, _): observers.append(ProgressLines(log: { _ in }))  // warnings only
        case (false, .json, _): observers.append(JSONStepLines(write: { writeOut($0) }, probe: probe))
        case (false, .text, true): observers.append(LiveProgressLine(write: { writeOut($0) }, probe: probe, sharesTerminalWithErrors: isatty(2) == 1))
        // Plain lines first, so the opening line comes before the first measurement's.
        case (false, .text, false): observers.insert(ProgressLines(log: { print($0) }), at: 0)
        }
        self.observers = observers
    }

    /// The names `extraFiles` adds beside `RunOutputs.files`, for the summary and
    /// the report's list of files: progress.png and snapshots/ (with snapshots),
    /// and report.html.
    var extraNames: [String] { (snapshots == nil ? [] : [Self.progress, SnapshotWriter.folderName + "/"]) + [ReportPage.fileName] }

    /// Every name a run leaves in its folder, for the summary and report.html's
    /// list: the outputs (`outputs`, `RunOutputs.files`), `extraNames`, and the
    /// checkpoint folder, written with them as one set.
    func writtenNames(outputs: [String]) -> [String] { outputs + extraNames + [RunFiles.checkpoint + "/"] }

    /// The files written beside the outputs of `outcome` (names in `outputs`'
    /// folder, and bytes), as one set with them: with snapshots, the last
    /// step's snapshot and progress.png; then report.html. The figures and
    /// pictures are those of `outcome`'s step (a run stopped early ends there).
    /// `command` is this process's arguments, for the report's command that
    /// runs it again (`RerunCommand`); `listed`, the folder's files for the
    /// report's list (nil: `writtenNames`).
    func extraFiles(_ outcome: DistillationOutcome, outputs: RunOutputs, zoom: Int,
                    command: [String] = CommandLine.arguments, files listed: [String]? = nil) throws(CLIError) -> [(name: String, bytes: [UInt8])] {
        do {
            let distiller = outcome.distiller
            var files: [(name: String, bytes: [UInt8])] = []
            var frames: [ReportPage.ClassPicture] = []
            if let snapshots {
                files.append(try snapshots.finalSnapshot(distiller))
                let kept = snapshots.frames(endingWith: distiller)
                let picture = try snapshots.contactSheet(kept, configuration: distiller.configuration, classes: distiller.classes)
                files.append((Self.progress, try picture.encoded(nameForErrors: outputs.path(Self.progress))))
                for frame in try snapshots.framePictures(kept, configuration: distiller.configuration, classes: distiller.classes) {
                    frames.append(ReportPage.ClassPicture(name: "step \(frame.step)", png: try frame.picture.encoded(nameForErrors: ReportPage.fileName),
                                                          width: frame.picture.width, height: frame.picture.height))
                }
            }
            let pixels = DistilledPicture.pixels(distiller)
            var pictures: [ReportPage.ClassPicture] = []
            for (index, name) in classNames.enumerated() {
                let grid = try DistilledPicture.classGrid(pixels, class: index, configuration: distiller.configuration,
                                                          height: outputs.shape.height, width: outputs.shape.width,
                                                          channels: outputs.shape.channels, zoom: ReportPage.zoom(imageWidth: outputs.shape.width))
                pictures.append(ReportPage.ClassPicture(name: name, png: try grid.encoded(nameForErrors: ReportPage.fileName),
                                                        width: grid.width, height: grid.height))
            }
            let rerun = RerunCommand.arguments(configuration: distiller.configuration, data: outcome.metrics.dataset,
                                               dataOptions: outcome.metrics.dataOptions, out: outputs.folder, original: command)
            let page = ReportPage(metrics: outcome.metrics, history: outcome.history,
                                  testAccuracy: probe?.points(through: outcome.metrics) ?? [],
                                  classes: pictures, snapshots: frames,
                                  baselines: outcome.metrics.baselines?.map { ReportPage.Baseline($0, ceiling: CeilingSize(model: $0.model, train: train)) }, rerun: rerun,
                                  files: listed ?? writtenNames(outputs: outputs.files), evaluationSeconds: probe?.seconds)
            files.append((ReportPage.fileName, Array(page.html.utf8)))
            return files
        } catch {
            throw CLIError(error)
        }
    }

    static let progress = "progress.png"

    /// What one size of a sweep writes beside its run's outputs: report.html, as
    /// `distill run` writes it (the test-accuracy curve measured silently during
    /// the run, at most 5% of its time, on a copy), without progress lines (the
    /// sweep prints its own) or snapshots. `out` is the size's folder.
    static func sweepSize(dataset: LoadedDataset, out: String) throws(CLIError) -> RunDisplay {
        // Every option at its default (a ParsableArguments is made by parsing).
        let options: DisplayOptions
        do { options = try DisplayOptions.parse([]) } catch { throw CLIError("cannot make the default display options: \(error)") }
        return try RunDisplay(options, quiet: true, dataset: dataset, out: out, zoom: 4,
                              classNames: try options.names(classes: dataset.classes, datasetNames: dataset.dataset.classNames),
                              progress: false)
    }

    /// report.html alone for `outcome` (whose metrics may hold baselines trained
    /// after the run's set was written), to write beside a rewritten metrics.json.
    func report(_ outcome: DistillationOutcome, outputs: RunOutputs, command: [String], files: [String]) throws(CLIError) -> (name: String, bytes: [UInt8]) {
        let files = try extraFiles(outcome, outputs: outputs, zoom: 4, command: command, files: files)
        guard let page = files.first(where: { $0.name == ReportPage.fileName }) else { throw CLIError("\(ReportPage.fileName) was not made") }
        return page
    }

    /// The summary block at the end (on standard error with `--log-format json`,
    /// so that standard output holds only JSON lines), with the baselines as
    /// a table when they were trained. Its first line says "Done" only when the
    /// run reached its last step. `resumedFrom`: the step a resumed run's session
    /// started from (nil: the run was not resumed).
    ///
    /// Its time is that of the steps alone (`distillationCovers`), unlike the live
    /// progress line's elapsed time (`LiveProgressLine.finished`).
    func summary(_ outcome: DistillationOutcome, folder: String, files: [String], resumedFrom: Int? = nil) -> String {
        let m = outcome.metrics
        let step = outcome.distiller.step, steps = outcome.distiller.configuration.steps
        // A run stopped before its last step (a signal, --stop-after-step) is not done.
        // The steps' total time (every session's, after --resume: metrics' `seconds`, not the
        // time since this command started), then the median step's time (a slow first step does not count).
        // Said to cover the steps alone: the live line's elapsed time, the wall time since the first
        // step, also counts the test-accuracy checks and the checkpoints, and is often larger.
        var time = "\(NumberText.duration(m.seconds)) of distillation (\(Self.distillationCovers); median step \(NumberText.milliseconds(m.secondsPerStep)))"
        // After --resume the totals are every session's: said so, with this session's share.
        if let start = resumedFrom {
            let own = outcome.history.filter { $0.step > start && $0.step <= step }
            time += ", every session's; this one ran " + (own.isEmpty ? "no step"
                : (own.count == 1 ? "step \(step)" : "steps \(start + 1) to \(step)") + " in \(NumberText.duration(own.reduce(0) { $0 + $1.seconds }))")
        }
        var lines = [
            step < steps ? "Ran \(step) of the \(steps) steps in \(time); the run is not finished." : "Done: \(counted(steps, "step")) in \(time).",
            // The final set's, after the last update: a step line gives the loss its step started from.
            "  final train loss   \(NumberText.fixed(m.trainLoss, digits: 4))   (train accuracy \(NumberText.percent(m.trainAccuracy)), after the last step)",
            "  test accuracy      \(NumberText.percent(m.testAccuracy))",
        ]
        if let baselines = m.baselines, !baselines.isEmpty {
            lines.append("")
            lines += Self.baselineTable(m, baselines, train: train).map { "  " + $0 }
            lines.append("")
        }
        lines.append("  files in \(folder)/  \(files.joined(separator: ", "))")
        if files.contains(ReportPage.fileName) { lines.append("  open \(folder)/\(ReportPage.fileName) in a browser to look at the run.") }
        return lines.joined(separator: "\n")
    }

    /// The run beside its baselines, one row each, in aligned columns: the
    /// model, its test accuracy (± the sample standard deviation over draws) and
    /// its training loss; under it, when a row has a "±", the line saying what
    /// it is (`ReportPage.Baseline.spreadNote`). `train`: the training set, for
    /// the ceiling's size (`CeilingSize`; nil: all of it).
    static func baselineTable(_ m: RunMetrics, _ baselines: [BaselineResult], train: LabeledImages? = nil) -> [String] {
        var rows: [[String]] = [["model", "test accuracy", "train loss"],
                                ["distilled (this run)", NumberText.percent(m.testAccuracy), NumberText.fixed(m.trainLoss, digits: 4)]]
        var note: String? = nil
        for b in baselines {
            let row = ReportPage.Baseline(b, ceiling: train.map { CeilingSize(model: b.model, train: $0) })
            rows.append([row.name, row.accuracyText, NumberText.fixed(b.trainLoss, digits: 4)])
            if note == nil, row.testAccuracyStd != nil { note = row.spreadNote }
        }
        return TextTable.lines(rows, rightAligned: [false, true, true]) + (note.map { [$0] } ?? [])
    }

    /// What the summary's "N s of distillation" counts, said after it.
    static let distillationCovers = "the steps alone, without test-accuracy checks or saving"

    func printSummary(_ outcome: DistillationOutcome, folder: String, files: [String], resumedFrom: Int? = nil) {
        printFinal(summary(outcome, folder: folder, files: files, resumedFrom: resumedFrom))
    }

    /// Prints a closing line or block: on standard error with `--log-format
    /// json` (standard output then holds only JSON lines), else on standard output.
    func printFinal(_ text: String) {
        if logFormat == .json { printError(text) } else { print(text) }
    }
}

/// Plain-text tables for the console.
enum TextTable {
    /// `rows` (the first one the header) in columns two spaces apart, each
    /// as wide as its widest cell, padded on the left where `rightAligned`;
    /// a rule of dashes under the header. Trailing spaces are removed.
    static func lines(_ rows: [[String]], rightAligned: [Bool]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            var text = ""
            for c in 0..<columns {
                let cell = c < cells.count ? cells[c] : ""
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                text += (c == 0 ? "" : "  ") + (c < rightAligned.count && rightAligned[c] ? pad + cell : cell + pad)
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        guard let header = rows.first else { return [] }
        return [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.dropFirst().map(line)
    }
}

/// Writes `text` to standard output as it is and flushes it (so that a
/// progress line appears at once, in order with `print`).
func writeOut(_ text: String) {
    print(text, terminator: "")
    fflush(nil)  // every output stream: naming `stdout` is not concurrency-safe
}
