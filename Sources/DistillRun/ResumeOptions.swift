import Distill
import Foundation

/// What may change when a run is resumed: the number of steps (only to extend
/// it: fewer steps than it was started with would change the learning-rate
/// schedule of the steps already taken; `--stop-after-step` ends a session
/// sooner), the thread count and the dataset's location (checked by its files'
/// SHA-256). Every other setting is the run's own; asking for another value is
/// refused with a sentence.
public enum ResumeOptions {
    /// The option name of each configuration field, for messages.
    static let optionNames: [String: String] = [
        "imagesPerClass": "--images-per-class", "steps": "--steps", "learningRate": "--learning-rate", "l2": "--l2",
        "seed": "--seed", "initialisation": "--init", "innerTolerance": "--inner-tolerance",
        "linearSolveTolerance": "--linear-solve-tolerance", "linearSolveMaxIterations": "--linear-solve-max-iterations",
        "threads": "--threads", "learnLabels": "--learn-labels", "labelLearningRate": "--label-learning-rate",
        "learnL2": "--learn-l2", "l2LearningRate": "--l2-learning-rate", "pixelRange": "--pixel-range",
        "schedule": "--schedule", "pull": "--pull", "model": "--model", "hypergradient": "--hypergradient",
        "unrollSteps": "--unroll-steps", "kernelBandwidth": "--kernel-bandwidth", "kernelDepth": "--depth",
        "weightVariance": "--weight-variance", "biasVariance": "--bias-variance", "outerLoss": "--outer-loss",
        "batch": "--batch",
    ]

    /// Settings that may differ from the checkpoint's.
    static let changeable: Set<String> = ["steps", "threads"]

    /// The configuration to continue with: the checkpoint's `saved` one, with
    /// the steps and threads of `requested` where they differ from `defaults`
    /// (the options the user gave).
    ///
    /// - Throws: `RunError` naming an option the user gave that a resumed run
    ///   cannot change, or `--steps` below the run's recorded steps (`saved.steps`).
    ///   `given`: the long option names the user gave (`--seed`), so that one
    ///   given with its default value is still compared; nil: those unlike `defaults`.
    public static func configuration(saved: DistillerConfiguration, step: Int, requested: DistillerConfiguration,
                                     defaults: DistillerConfiguration = DistillerConfiguration(),
                                     given: Set<String>? = nil) throws(RunError) -> DistillerConfiguration {
        let s = fields(saved), r = fields(requested), d = fields(defaults)
        // The options the user gave: `given` (long names with dashes) when the caller knows them, else those unlike `defaults`.
        func gave(_ key: String) -> Bool { given.map { $0.contains(optionNames[key] ?? key) } ?? (r[key] != d[key]) }
        for key in r.keys.sorted() where gave(key) && r[key] != s[key] && !changeable.contains(key) {
            let option = optionNames[key] ?? key
            let was = s[key].map { "\(option) \($0)" } ?? "no \(option)"
            throw RunError("\(option) \(r[key] ?? "none"): a resumed run keeps the settings it was started with (\(was)); leave \(option) out, or start a new run into another --out")
        }
        var result = saved
        if gave("steps") {
            guard requested.steps >= saved.steps else {
                // A finished run (its checkpoint at its last step) needs a step to take.
                let finished = step >= saved.steps
                let least = finished ? step + 1 : saved.steps
                let advice = finished ? "give --steps \(least) or more (it finished)" : "give --steps \(least) or more, or leave --steps out (--stop-after-step ends a session sooner)"
                throw RunError("--steps \(requested.steps): a resumed run can only be extended, and this one was started with --steps \(saved.steps) (its checkpoint is at step \(step)); \(advice)")
            }
            result.steps = requested.steps
        }
        if gave("threads") { result.threads = requested.threads }
        return result
    }

    /// Each field of `configuration` as its JSON text.
    static func fields(_ configuration: DistillerConfiguration) -> [String: String] {
        guard let data = try? JSONEncoder.total().encode(configuration),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in object {
            let text = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
            result[key] = text == "true" ? "on" : text == "false" ? "off" : text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return result
    }
}
