/// The settings a run used, as metrics.json records them: the settings every run
/// reads (`DistillerConfiguration.sharedSettings`) and those of its model
/// (`InnerModelFactory.modelSettings`), with their effective values
/// (`InnerModelFactory.effectiveConfiguration`: kernel-ridge's bandwidth as
/// chosen). A setting the run did not read (a kernel's depth for the logistic
/// model, the unrolled steps for an implicit hypergradient, the label learning
/// rate when the labels are not learned) is not written, so that the record
/// never states a value that had no effect. Checkpoints keep the whole
/// `DistillerConfiguration`.
///
/// Read back, an absent setting takes `DistillerConfiguration()`'s value (it
/// has no effect on the run's model): `values` builds the same model again.
@dynamicMemberLookup
public struct RecordedConfiguration: Codable, Equatable, Sendable {
    /// Every setting (those not in `recorded` hold values the run did not read).
    public private(set) var values: DistillerConfiguration
    /// The settings written.
    public let recorded: Set<DistillerConfiguration.CodingKeys>

    /// The record of a run with `configuration` whose inner model is `model`
    /// (made from it). When `configuration.model` is none of `InnerModels.all` (a
    /// program's own model), which settings it reads is unknown: all are recorded.
    public init(_ configuration: DistillerConfiguration, model: any InnerModel) {
        guard let factory = try? InnerModels.factory(named: configuration.model) else {
            values = configuration
            recorded = Set(DistillerConfiguration.CodingKeys.allCases)
            return
        }
        values = factory.effectiveConfiguration(configuration, model: model)
        recorded = configuration.settingsInUse(factory)
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<DistillerConfiguration, T>) -> T { values[keyPath: keyPath] }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DistillerConfiguration.CodingKeys.self)
        var c = DistillerConfiguration()
        func read<T: Decodable>(_ key: DistillerConfiguration.CodingKeys, into field: WritableKeyPath<DistillerConfiguration, T>) throws {
            if let value = try container.decodeIfPresent(T.self, forKey: key) { c[keyPath: field] = value }
        }
        try read(.imagesPerClass, into: \.imagesPerClass)
        try read(.steps, into: \.steps)
        try read(.learningRate, into: \.learningRate)
        try read(.l2, into: \.l2)
        try read(.seed, into: \.seed)
        try read(.initialisation, into: \.initialisation)
        try read(.innerTolerance, into: \.innerTolerance)
        try read(.linearSolveTolerance, into: \.linearSolveTolerance)
        try read(.linearSolveMaxIterations, into: \.linearSolveMaxIterations)
        try read(.threads, into: \.threads)
        try read(.learnLabels, into: \.learnLabels)
        try read(.labelLearningRate, into: \.labelLearningRate)
        try read(.learnL2, into: \.learnL2)
        try read(.l2LearningRate, into: \.l2LearningRate)
        try read(.pixelRange, into: \.pixelRange)
        try read(.schedule, into: \.schedule)
        try read(.pull, into: \.pull)
        try read(.model, into: \.model)
        try read(.hypergradient, into: \.hypergradient)
        try read(.unrollSteps, into: \.unrollSteps)
        c.kernelBandwidth = try container.decodeIfPresent(Double.self, forKey: .kernelBandwidth)
        try read(.kernelDepth, into: \.kernelDepth)
        try read(.weightVariance, into: \.weightVariance)
        try read(.biasVariance, into: \.biasVariance)
        try read(.outerLoss, into: \.outerLoss)
        c.batch = try container.decodeIfPresent(Int.self, forKey: .batch)
        values = c
        recorded = Set(container.allKeys)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DistillerConfiguration.CodingKeys.self)
        let c = values
        for key in DistillerConfiguration.CodingKeys.allCases where recorded.contains(key) {
            switch key {
            case .imagesPerClass: try container.encode(c.imagesPerClass, forKey: key)
            case .steps: try container.encode(c.steps, forKey: key)
            case .learningRate: try container.encode(c.learningRate, forKey: key)
            case .l2: try container.encode(c.l2, forKey: key)
            case .seed: try container.encode(c.seed, forKey: key)
            case .initialisation: try container.encode(c.initialisation, forKey: key)
            case .innerTolerance: try container.encode(c.innerTolerance, forKey: key)
            case .linearSolveTolerance: try container.encode(c.linearSolveTolerance, forKey: key)
            case .linearSolveMaxIterations: try container.encode(c.linearSolveMaxIterations, forKey: key)
            case .threads: try container.encode(c.threads, forKey: key)
            case .learnLabels: try container.encode(c.learnLabels, forKey: key)
            case .labelLearningRate: try container.encode(c.labelLearningRate, forKey: key)
            case .learnL2: try container.encode(c.learnL2, forKey: key)
            case .l2LearningRate: try container.encode(c.l2LearningRate, forKey: key)
            case .pixelRange: try container.encode(c.pixelRange, forKey: key)
            case .schedule: try container.encode(c.schedule, forKey: key)
            case .pull: try container.encode(c.pull, forKey: key)
            case .model: try container.encode(c.model, forKey: key)
            case .hypergradient: try container.encode(c.hypergradient, forKey: key)
            case .unrollSteps: try container.encode(c.unrollSteps, forKey: key)
            case .kernelBandwidth: try container.encodeIfPresent(c.kernelBandwidth, forKey: key)
            case .kernelDepth: try container.encode(c.kernelDepth, forKey: key)
            case .weightVariance: try container.encode(c.weightVariance, forKey: key)
            case .biasVariance: try container.encode(c.biasVariance, forKey: key)
            case .outerLoss: try container.encode(c.outerLoss, forKey: key)
            case .batch: try container.encodeIfPresent(c.batch, forKey: key)
            }
        }
    }
}

extension DistillerConfiguration {
    /// The settings every run reads, whatever its model: the size, the outer
    /// optimisation (steps, learning rate and schedule, seed, starting images,
    /// pixel range, pull), the inner problem's L2 strength and solve tolerance,
    /// the threads, the model and how its hypergradient is taken, and whether the
    /// labels and the L2 strength are learned.
    public static let sharedSettings: Set<CodingKeys> = [
        .imagesPerClass, .steps, .learningRate, .l2, .seed, .initialisation, .innerTolerance, .threads,
        .learnLabels, .learnL2, .pixelRange, .schedule, .pull, .model, .hypergradient,
    ]

    /// The settings a run with this configuration and the model `factory` makes
    /// reads: `sharedSettings`, the learning rate of the labels and of the L2
    /// strength when they are learned, the outer batch when there is one (every
    /// model takes it; without one the run uses the whole training set and
    /// there is nothing to record), and the model's own
    /// (`InnerModelFactory.modelSettings`).
    public func settingsInUse(_ factory: any InnerModelFactory.Type) -> Set<CodingKeys> {
        var settings = Self.sharedSettings.union(factory.modelSettings(self))
        if batch != nil { settings.insert(.batch) }
        if learnLabels { settings.insert(.labelLearningRate) }
        if learnL2 { settings.insert(.l2LearningRate) }
        return settings
    }
}
