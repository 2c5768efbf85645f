import Distill
import DistillDatasets
import DistillIO
import Foundation

/// The command that runs a finished run again from any directory, for
/// report.html: `<distill> run`, the distiller's settings as options (those
/// that differ from the defaults, plus `--images-per-class`, `--steps`,
/// `--seed` and `--threads`, on which bit-identical repeats depend), `--data`
/// as an absolute path (with the dataset's `--test-fraction`, `--split-seed`
/// and `--label-set` when it was loaded with them), `--out` as the absolute
/// path of a new folder beside the run's, its name with `-again` (`againFolder`;
/// no `--replace`: pasting it never deletes the run being looked at, and a
/// folder already holding a run is refused by the run itself), then the options that
/// shape what the run shows and writes (`--zoom`, `--baselines`,
/// `--eval-every`, `--snapshot-every`, `--class-names` made absolute,
/// `--checkpoint-every`, `--stop-after-step`, `--log-format`, `--quiet`) as
/// the process was given them. Never `--resume`: the settings come from the
/// run's configuration, which a resumed run takes from its checkpoint, so a
/// run resumed any number of times is reproduced by one command, unless a
/// resume lengthened it with `--steps` (its earlier steps then followed the
/// shorter run's learning-rate schedule; report.html says so and how to repeat
/// it: `ReportPage.wasLengthened`).
enum RerunCommand {
    /// The arguments, `arguments[0]` being the executable: its absolute path
    /// when it was started through a path, its name as typed when found on the PATH.
    static func arguments(configuration c: DistillerConfiguration, data: String, dataOptions: DatasetOptions = DatasetOptions(),
                          out: String, original: [String],
                          workingDirectory: String = FileManager.default.currentDirectoryPath) -> [String] {
        let executable = original.first ?? "distill"
        var arguments = [executable.contains("/") ? absolute(executable, in: workingDirectory) : executable, "run"]
        arguments += settings(c)
        arguments += ["--data", absolute(data, in: workingDirectory)]
        if let fraction = dataOptions.testFraction {
            arguments += ["--test-fraction", NumberText.shortest(fraction), "--split-seed", "\(dataOptions.splitSeed)"]
        }
        if let set = dataOptions.labelSet { arguments += ["--label-set", set.rawValue] }
        arguments += ["--out", againFolder(absolute(out, in: workingDirectory))]
        arguments += passedThrough(original.dropFirst(), workingDirectory: workingDirectory)
        return arguments
    }

    /// The options that give `c`: `--model` unless it is the default model, the
    /// settings whose value differs from that model's defaults
    /// (`InnerModels.defaultConfiguration(model:imagesPerClass:)` at the run's size), and always the size, length,
    /// seed and thread count (the default thread count depends on the machine). Numbers are written in their shortest exactly-reading form.
    static func settings(_ c: DistillerConfiguration) -> [String] {
        let d = (try? InnerModels.defaultConfiguration(model: c.model, imagesPerClass: c.imagesPerClass)) ?? DistillerConfiguration()
        var out = ["--images-per-class", "\(c.imagesPerClass)", "--steps", "\(c.steps)", "--seed", "\(c.seed)"]
        func add(_ name: String, _ value: String, _ isDefault: Bool) { if !isDefault { out += [name, value] } }
        // A setting the model does not read is left out: `run` refuses it (it would have no effect).
        let read = (try? InnerModels.factory(named: c.model)).map { c.settingsInUse($0) }
        func unread(_ key: DistillerConfiguration.CodingKeys) -> Bool { read.map { !$0.contains(key) } ?? false }
        add("--model", c.model, c.model == DistillerConfiguration().model)
        add("--depth", "\(c.kernelDepth)", c.kernelDepth == d.kernelDepth || unread(.kernelDepth))
        add("--weight-variance", NumberText.shortest(c.weightVariance), c.weightVariance == d.weightVariance || unread(.weightVariance))
        add("--bias-variance", NumberText.shortest(c.biasVariance), c.biasVariance == d.biasVariance || unread(.biasVariance))
        add("--outer-loss", c.outerLoss.rawValue, c.outerLoss == d.outerLoss || unread(.outerLoss))
        add("--init", c.initialisation.rawValue, c.initialisation == d.initialisation)
        add("--learning-rate", NumberText.shortest(c.learningRate), c.learningRate == d.learningRate)
        add("--l2", NumberText.shortest(c.l2), c.l2 == d.l2)
        add("--learn-labels", c.learnLabels ? "on" : "off", c.learnLabels == d.learnLabels)
        add("--label-learning-rate", NumberText.shortest(c.labelLearningRate), c.labelLearningRate == d.labelLearningRate || unread(.labelLearningRate))
        add("--learn-l2", c.learnL2 ? "on" : "off", c.learnL2 == d.learnL2)
        add("--l2-learning-rate", NumberText.shortest(c.l2LearningRate), c.l2LearningRate == d.l2LearningRate || unread(.l2LearningRate))
        add("--schedule", c.schedule.rawValue, c.schedule == d.schedule)
        add("--pixel-range", c.pixelRange.rawValue, c.pixelRange == d.pixelRange)
        add("--pull", NumberText.shortest(c.pull), c.pull == d.pull)
        add("--hypergradient", c.hypergradient.rawValue, c.hypergradient == d.hypergradient)
        add("--unroll-steps", "\(c.unrollSteps)", c.unrollSteps == d.unrollSteps || unread(.unrollSteps))
        add("--inner-tolerance", NumberText.shortest(c.innerTolerance), c.innerTolerance == d.innerTolerance)
        add("--linear-solve-tolerance", NumberText.shortest(c.linearSolveTolerance), c.linearSolveTolerance == d.linearSolveTolerance || unread(.linearSolveTolerance))
        out += ["--threads", "\(c.threads)"]
        if let batch = c.batch { out += ["--batch", "\(batch)"] }
        return out
    }

    /// The folder the command runs into: `folder` (absolute) with `-again`
    /// appended to its name (`/runs/out` gives `/runs/out-again`).
    static func againFolder(_ folder: String) -> String {
        var trimmed = folder
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed + "-again"
    }

    /// Options of `run` that are not distiller settings, kept as given (a
    /// file name made absolute).
    static let kept: Set<String> = ["--zoom", "--eval-every", "--snapshot-every", "--class-names", "--checkpoint-every",
                                    "--stop-after-step", "--log-format"]
    static let keptFlags: Set<String> = ["--baselines", "--quiet"]
    static let paths: Set<String> = ["--class-names"]

    static func passedThrough(_ arguments: ArraySlice<String>, workingDirectory: String) -> [String] {
        var out: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if keptFlags.contains(argument) { out.append(argument); continue }
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            let value: String?
            if parts.count == 2 {
                value = parts[1]
            } else if name.hasPrefix("--"), let next = rest.first, !next.hasPrefix("--") || Double(next) != nil {
                value = rest.popFirst()
            } else {
                value = nil
            }
            guard kept.contains(name), let value else { continue }
            out += [name, paths.contains(name) ? absolute(value, in: workingDirectory) : value]
        }
        return out
    }

    /// `path` as an absolute path: symbolic links resolved when it exists,
    /// else joined to `directory`.
    static func absolute(_ path: String, in directory: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let joined = expanded.hasPrefix("/") ? expanded : (directory.hasSuffix("/") ? directory : directory + "/") + expanded
        if let resolved = realpath(joined, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return (joined as NSString).standardizingPath
    }
}
