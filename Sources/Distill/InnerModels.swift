import DistillImages
import DistillNumerics

/// How one kind of inner model is named and built: the one place a model meets
/// the configuration.
public protocol InnerModelFactory {
    /// The name `--model` takes and metrics.json records.
    static var modelName: String { get }
    /// One line for `--help`.
    static var summary: String { get }
    /// The model for a run on `train` with `configuration` (model settings such as a
    /// kernel's bandwidth or depth come from it, or from `train` by default).
    ///
    /// - Throws: `InitialisationError` for settings this model cannot take.
    static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel
    /// The model's ceiling: its loss and accuracy when trained on the whole training
    /// set (or the largest part it can take), with L2 strength `l2`; nil if it has none.
    /// `model` is the run's model (made by `make` with the run's configuration), so that
    /// a model whose loss or kernel depends on the configuration (the NNGP / NTK's
    /// depth, variances and outer loss) measures its ceiling with the same ones.
    /// `stopRequested` is asked where the fit can stop (between the iterations of an
    /// iterative one): nil once it answered true.
    static func ceiling(model: any InnerModel, train: LabeledImages, test: LabeledImages, l2: Double, threads: Int,
                        stopRequested: () -> Bool) -> Evaluation.Pair?
    /// How many training images `ceiling` fits on: nil for the whole training set
    /// (the default), else the size of the subset it takes.
    static var ceilingTrainingImages: Int? { get }
    /// Whether `--hypergradient unrolled` applies to this model (default: no).
    static var supportsUnrolledHypergradient: Bool { get }
    /// The settings a run of this model takes for every option its user leaves
    /// unset: `base` (the shared defaults, `DistillerConfiguration()`, with `model`
    /// set to this model and `imagesPerClass` to the run's) with this model's own
    /// defaults written in. Default: `base`
    /// unchanged. A model's defaults are chosen by measurement on a split held out
    /// of the training set, never on the test set.
    static func defaultConfiguration(_ base: DistillerConfiguration) -> DistillerConfiguration
    /// The settings of this model's own that a run with `configuration` reads,
    /// beyond those every run reads (`DistillerConfiguration.sharedSettings`): the
    /// linear solve's, a kernel's, the unrolled steps... A setting not listed has
    /// no effect on the run, and metrics.json does not record it
    /// (`RecordedConfiguration`). Every model states its own (no default).
    static func modelSettings(_ configuration: DistillerConfiguration) -> Set<DistillerConfiguration.CodingKeys>
    /// `configuration` with the values `model` (made by `make(configuration, ...)`)
    /// chose for itself written in: e.g. kernel-ridge's bandwidth γ, taken from the
    /// training set when `configuration` leaves it unset. Default: `configuration`.
    static func effectiveConfiguration(_ configuration: DistillerConfiguration, model: any InnerModel) -> DistillerConfiguration
}

extension InnerModelFactory {
    public static func ceiling(model: any InnerModel, train: LabeledImages, test: LabeledImages, l2: Double,
                               threads: Int, stopRequested: () -> Bool) -> Evaluation.Pair? { nil }
    /// `ceiling` run to its end (never asked to stop).
    public static func ceiling(model: any InnerModel, train: LabeledImages, test: LabeledImages, l2: Double,
                               threads: Int) -> Evaluation.Pair? {
        ceiling(model: model, train: train, test: test, l2: l2, threads: threads, stopRequested: { false })
    }
    public static var supportsUnrolledHypergradient: Bool { false }
    public static var ceilingTrainingImages: Int? { nil }
    public static func defaultConfiguration(_ base: DistillerConfiguration) -> DistillerConfiguration { base }
    public static func effectiveConfiguration(_ configuration: DistillerConfiguration, model: any InnerModel) -> DistillerConfiguration {
        configuration
    }
}

/// The inner models `--model` offers, by name.
public enum InnerModels {
    /// Every model, in the order `--help` lists them. A new model adds its factory here.
    public static var all: [any InnerModelFactory.Type] { [
        LogisticModel.self, RidgeModel.self, KernelRidgeModel.self, NNGPModel.self, NTKModel.self,
    ] }

    /// Every model's name.
    public static var names: [String] { all.map { $0.modelName } }

    /// The factory named `name`.
    ///
    /// - Throws: `InitialisationError` naming the models there are.
    public static func factory(named name: String) throws(InitialisationError) -> any InnerModelFactory.Type {
        guard let factory = all.first(where: { $0.modelName == name }) else {
            throw InitialisationError(description: "unknown inner model '\(name)': expected one of \(names.joined(separator: ", "))")
        }
        return factory
    }

    /// The defaults of a run of the model named `name` with `imagesPerClass`
    /// synthetic images per class: `DistillerConfiguration()` with `model = name`
    /// and `imagesPerClass`, then that model's `defaultConfiguration` (a model's
    /// defaults may depend on the size: the NTK's outer loss does).
    ///
    /// - Throws: `InitialisationError` naming the models there are.
    public static func defaultConfiguration(model name: String, imagesPerClass: Int = 1) throws(InitialisationError) -> DistillerConfiguration {
        var base = DistillerConfiguration()
        base.model = name
        base.imagesPerClass = imagesPerClass
        return try factory(named: name).defaultConfiguration(base)
    }

    /// The model `configuration.model` names, built for `train`.
    public static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel {
        let factory = try factory(named: configuration.model)
        guard configuration.hypergradient == .implicit || factory.supportsUnrolledHypergradient else {
            throw InitialisationError(description: "the unrolled hypergradient is implemented for the logistic model only, not \(configuration.model)")
        }
        return try factory.make(configuration, train: train)
    }
}
