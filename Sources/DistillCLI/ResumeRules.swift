import DistillDatasets
import DistillRun

/// How `distill run --resume` treats each of `run`'s options: the one place
/// where every option is classified (a test walks `run`'s options and fails on
/// one missing here).
enum ResumeRule: Equatable {
    /// A setting of the run's configuration, carried over from the checkpoint;
    /// another value is refused by `ResumeOptions.configuration` (`--steps` and
    /// `--threads` excepted there).
    case configuration
    /// A setting of the run kept in its checkpoint beside the configuration (the
    /// data split, `--snapshot-every`...): carried over; another value is
    /// refused here (`ResumeRules.check`) with a sentence naming the recorded value.
    case recorded
    /// May differ in the session that continues the run (more steps, threads, a
    /// moved dataset, where and how it stops, what it prints).
    case changeable
}

enum ResumeRules {
    /// Every option of `run`, by long name, and how a resume treats it.
    static let rules: [String: ResumeRule] = [
        // The configuration (`DistillerConfiguration`, checked by `ResumeOptions`).
        "images-per-class": .configuration, "steps": .configuration, "learning-rate": .configuration, "l2": .configuration,
        "seed": .configuration, "init": .configuration, "inner-tolerance": .configuration,
        "linear-solve-tolerance": .configuration, "learn-labels": .configuration, "label-learning-rate": .configuration,
        "learn-l2": .configuration, "l2-learning-rate": .configuration, "pixel-range": .configuration,
        "schedule": .configuration, "pull": .configuration, "model": .configuration, "hypergradient": .configuration,
        "unroll-steps": .configuration, "depth": .configuration, "weight-variance": .configuration,
        "bias-variance": .configuration, "outer-loss": .configuration, "threads": .configuration, "batch": .configuration,
        // Kept beside it: the data split (`Checkpoint.Manifest.dataOptions`) and
        // how the run's pictures are drawn and named (`recordedOptions`).
        "test-fraction": .recorded, "split-seed": .recorded, "label-set": .recorded,
        "snapshot-every": .recorded, "class-names": .recorded, "zoom": .recorded,
        // The session's own.
        "data": .changeable, "out": .changeable, "resume": .changeable, "stop-after-step": .changeable,
        "checkpoint-every": .changeable, "quiet": .changeable, "log-format": .changeable, "eval-every": .changeable,
        "replace": .changeable, "baselines": .changeable, "help": .changeable,
    ]

    /// The long option names given on `arguments` (`--name` or `--name=value`),
    /// without dashes; stops at `--`.
    static func given(_ arguments: [String]) -> Set<String> {
        var names: Set<String> = []
        for argument in arguments {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            names.insert(String(argument.dropFirst(2).prefix { $0 != "=" }))
        }
        return names
    }

    /// The `.recorded` options the run records in its checkpoints, as text
    /// (`Checkpoint.Manifest.recordedOptions`); the data split is in `dataOptions`.
    static func recordedOptions(snapshotEvery: Int?, classNames: String?, zoom: Int) -> [String: String] {
        var options = ["zoom": String(zoom)]
        if let snapshotEvery { options["snapshot-every"] = String(snapshotEvery) }
        if let classNames { options["class-names"] = classNames }
        return options
    }

    /// Refuses a `.recorded` option given (`given`) with another value
    /// (`requested`, as `recordedOptions` writes it, plus the data split) than
    /// the checkpoint's.
    ///
    /// - Throws: `RunError`: one sentence naming the option, the value given and the recorded one.
    static func check(given: Set<String>, requested: [String: String], requestedData: DatasetOptions,
                      checkpoint: Checkpoint) throws(RunError) {
        let data = checkpoint.manifest.dataOptions ?? DatasetOptions()
        var recorded = checkpoint.manifest.recordedOptions ?? [:]
        var asked = requested
        recorded["test-fraction"] = data.testFraction.map { "\($0)" }
        recorded["split-seed"] = String(data.splitSeed)
        recorded["label-set"] = data.labelSet?.rawValue
        asked["test-fraction"] = requestedData.testFraction.map { "\($0)" }
        asked["split-seed"] = String(requestedData.splitSeed)
        asked["label-set"] = requestedData.labelSet?.rawValue
        // Checkpoints older than `recordedOptions` do not say how they were drawn: those options are taken as given.
        let known = checkpoint.manifest.recordedOptions != nil ? Set(rules.keys) : ["test-fraction", "split-seed", "label-set"]
        for name in rules.keys.sorted() where rules[name] == .recorded && known.contains(name) && given.contains(name)
            && asked[name] != recorded[name] {
            let was = recorded[name].map { "--\(name) \($0)" } ?? "no --\(name)"
            throw RunError("--\(name) \(asked[name] ?? ""): a resumed run keeps the settings it was started with (\(was)); leave --\(name) out, or start a new run into another --out")
        }
    }
}
