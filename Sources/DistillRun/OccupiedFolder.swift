/// A folder that holds another run's files, described for the refusal of a
/// command that would write there: what the folder holds (a finished run, a run
/// stopped at step k of N, or outputs without a readable checkpoint) and the
/// ways out that work for that command. `distill run` and `distill sweep` (for
/// a size's `ipc-K` folder) share it, so both say the same of the same folder.
public struct OccupiedFolder: Sendable {
    public let folder: String
    /// The run's files found in the folder (`OutputFolderLock.runFiles`).
    public let files: [String]
    /// The step of the folder's checkpoint and the steps of its run; nil when the
    /// folder has no readable checkpoint.
    public let progress: (step: Int, steps: Int)?

    /// Reads the checkpoint of `folder`, if it has a readable one.
    public init(_ folder: String, files: [String]) {
        self.folder = folder
        self.files = files
        progress = (try? Checkpoint.read(from: folder)).map { ($0.state.step, $0.manifest.configuration.steps) }
    }

    /// "the folder holds a finished run (2 of 2 steps; files)", "the folder holds
    /// another run's outputs, stopped at step 2 of 4 (files)" or "the folder holds
    /// another run's outputs (files)".
    public var holds: String {
        let listed = files.joined(separator: ", ")
        guard let (step, steps) = progress else { return "the folder holds another run's outputs (\(listed))" }
        return step >= steps ? "the folder holds a finished run (\(step) of \(steps) steps; \(listed))"
            : "the folder holds another run's outputs, stopped at step \(step) of \(steps) (\(listed))"
    }

    /// Why a new `distill run` refuses the folder, and what to do: a finished run
    /// (its checkpoint at its last step) cannot be continued, so a new `--out` or
    /// `--replace` (or, to run that one longer, `--resume` with more `--steps`); an
    /// unfinished one can be continued with `--resume`; without a readable
    /// checkpoint, only `--replace` or a new `--out`.
    public var runRefusal: String {
        guard let (step, steps) = progress else {
            return "\(folder): \(holds); pass --replace to delete them and write this run's, or choose another --out"
        }
        if step >= steps {
            return "\(folder): \(holds); choose another --out for this run, or pass --replace to delete that run's files and write this one's (\(longer))"
        }
        return "\(folder): \(holds); pass --replace to delete them and write this run's, continue that run with --resume \(folder), or choose another --out"
    }

    /// Why `distill sweep` refuses a size's folder: `--replace` or another `--out`
    /// for the sweep (a sweep does not resume), and how that run alone can be
    /// continued with `distill run --resume`, when it can.
    public var sweepRefusal: String {
        guard let (step, steps) = progress else {
            return "\(folder): \(holds); pass --replace to delete them, or choose another --out"
        }
        if step >= steps { return "\(folder): \(holds); pass --replace to delete them, or choose another --out (\(longer))" }
        return "\(folder): \(holds); pass --replace to delete them, or choose another --out (to continue that run instead: distill run --resume \(folder))"
    }

    /// How a finished run is run longer.
    private var longer: String {
        "to run that one longer instead: distill run --resume \(folder) --steps N, with N above \(progress?.step ?? 0)"
    }
}
