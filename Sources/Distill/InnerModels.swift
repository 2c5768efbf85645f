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
    static func ceiling(train: LabeledImages, test: LabeledImages, l2: Double, threads: Int) -> Evaluation.Pair?
    /// Whether `--hypergradient unrolled` applies to this model (default: no).
    static var supportsUnrolledHypergradient: Bool { get }
}

extension InnerModelFactory {
    public static func ceiling(train: LabeledImages, test: LabeledImages, l2: Double, threads: Int) -> Evaluation.Pair? { nil }
    public static var supportsUnrolledHypergradient: Bool { false }
}

/// The inner models `--model` offers, by name.
public enum InnerModels {
    /// Every model, in the order `--help` lists them. A new model adds its factory here.
    public static let all: [any InnerModelFactory.Type] = [
        LogisticModel.self, RidgeModel.self, KernelRidgeModel.self, NNGPModel.self, NTKModel.self,
    ]

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

    /// The model `configuration.model` names, built for `train`.
    public static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel {
        let factory = try factory(named: configuration.model)
        guard configuration.hypergradient == .implicit || factory.supportsUnrolledHypergradient else {
            throw InitialisationError(description: "the unrolled hypergradient is implemented for the logistic model only, not \(configuration.model)")
        }
        return try factory.make(configuration, train: train)
    }
}
