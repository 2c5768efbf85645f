import DistillNumerics
import ImplicitDiff

/// Settings of a distillation run.
public struct DistillerConfiguration: Sendable, Equatable {
    public var imagesPerClass = 1
    public var steps = 200
    /// Adam's learning rate on the synthetic images.
    public var learningRate = 0.03
    /// L2 strength λ of the inner model.
    public var l2 = 0.1
    public var seed: UInt64 = 0
    public var initialisation = Initialisation.noise
    /// Inner solve certificate: ‖F(W*)‖ ≤ innerTolerance · ‖F(0)‖.
    public var innerTolerance = 1e-6
    /// Conjugate-gradient tolerance on the implicit system, relative to ‖∂L/∂W‖.
    public var cgTolerance = 1e-8
    public var cgMaxIterations = 1000
    public var threads = 2

    public init() {}
}

/// One outer step's figures (the losses are those at the start of the step).
public struct StepRecord: Sendable, Equatable {
    public var step: Int
    /// Mean cross-entropy on the training set of the model trained on the synthetic set.
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var innerIterations: Int
    public var innerGradientNorm: Double
    public var innerConverged: Bool
    public var cgIterations: Int
    /// ‖H v - G‖ / ‖G‖ of the implicit solve.
    public var cgResidual: Double
    public var cgConverged: Bool
    /// Wall time of the step in seconds.
    public var seconds: Double
}

/// Learns a small synthetic training set by implicit differentiation.
///
/// Each step: train the inner model to optimality on the synthetic set (warm
/// started), take the gradient of the training-set loss with respect to its
/// weights in one pass over the training set, carry it to the synthetic images
/// through the implicit function theorem (one conjugate-gradient solve), and
/// move the images with Adam.
public struct Distiller: Sendable {
    public let configuration: DistillerConfiguration
    public let classes: Int
    public let features: Int
    /// The synthetic images, `classes · imagesPerClass` x `features`, in class order.
    public private(set) var images: Matrix
    /// Their labels (one-hot rows), `classes · imagesPerClass` x `classes`.
    public let labels: Matrix
    public private(set) var step = 0

    private let trainPass: OuterPass
    private var optimiser: Adam
    private let innerSolver: NewtonCG
    private var warmWeights: Matrix?
    private var warmAdjoint: [Double]?

    public init(train: LabeledImages, configuration: DistillerConfiguration) throws(InitialisationError) {
        self.configuration = configuration
        classes = train.classes
        features = train.features
        var random = SplitMix64(seed: configuration.seed)
        images = try configuration.initialisation.images(from: train, imagesPerClass: configuration.imagesPerClass, random: &random)
        labels = Self.oneHotLabels(classes: classes, imagesPerClass: configuration.imagesPerClass)
        trainPass = OuterPass(data: train, threads: configuration.threads)
        optimiser = Adam(count: images.values.count, learningRate: configuration.learningRate)
        innerSolver = NewtonCG(relativeTolerance: configuration.innerTolerance)
    }

    /// The class of each synthetic image, in row order.
    public var imageClasses: [Int] {
        (0..<images.rows).map { $0 / configuration.imagesPerClass }
    }

    /// The inner problem on the current synthetic set.
    public var problem: SoftmaxRegression {
        SoftmaxRegression(images: images, labels: labels, l2: configuration.l2)
    }

    /// Trains the inner model on the current synthetic set (warm started).
    public mutating func solveInner() -> InnerSolution {
        let solution = innerSolver.solve(problem, from: warmWeights)
        warmWeights = solution.weights
        return solution
    }

    /// One outer step; returns its record.
    public mutating func step(clock: () -> Double) -> StepRecord {
        let start = clock()
        let problem = self.problem
        let inner = solveInner()
        let outer = trainPass.evaluate(weights: inner.weights.values, gradient: true)
        let outerGradient = Matrix(rows: features, columns: classes, values: outer.gradient)
        let solver = ConjugateGradient(tolerance: configuration.cgTolerance, maxIterations: configuration.cgMaxIterations)
        let hypergradient = Hypergradient(problem: problem, solution: inner, outerGradient: outerGradient,
                                          solver: solver, initialGuess: warmAdjoint)
        warmAdjoint = hypergradient.adjoint
        optimiser.update(&images.values, gradient: hypergradient.cotangent.images.values)
        step += 1
        return StepRecord(
            step: step, trainLoss: outer.loss,
            trainAccuracy: Double(outer.correct) / Double(trainPass.data.count),
            innerIterations: inner.iterations, innerGradientNorm: inner.gradientNorm, innerConverged: inner.converged,
            cgIterations: hypergradient.solve.iterations, cgResidual: hypergradient.solve.relativeResidual,
            cgConverged: hypergradient.solve.converged, seconds: clock() - start)
    }

    static func oneHotLabels(classes: Int, imagesPerClass: Int) -> Matrix {
        var t = Matrix(zeros: classes * imagesPerClass, classes)
        for row in 0..<t.rows { t[row, row / imagesPerClass] = 1 }
        return t
    }
}

/// Loss and accuracy of a linear softmax model on a labelled image set.
public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double

    public init(weights: Matrix, on data: LabeledImages, threads: Int) {
        let result = OuterPass(data: data, threads: threads).evaluate(weights: weights.values, gradient: false)
        loss = result.loss
        accuracy = Double(result.correct) / Double(max(1, data.count))
    }
}
