import DistillNumerics

/// A network that `NetworkTrainer` can train: a fixed architecture whose parameters
/// are one flat array. Images come in as `count x inputFeatures` rows, each image
/// channel-major (`c, y, x`); outputs are `count x classes` logits, row-major.
public protocol TrainableNetwork<Scalar>: Sendable {
    associatedtype Scalar: NetworkScalar
    /// Reusable buffers for one batch of up to `capacity` images.
    associatedtype Workspace: AnyObject

    var inputFeatures: Int { get }
    var classes: Int { get }
    var parameterCount: Int { get }

    /// Parameters drawn from the network's initialisation.
    func initialParameters(_ random: inout SplitMix64) -> [Scalar]
    func makeWorkspace(capacity: Int) -> Workspace

    /// Writes the logits of `count <= capacity` images to `logits` (`count x classes`).
    func logits(_ parameters: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count: Int,
                into logits: UnsafeMutablePointer<Scalar>, workspace: Workspace)

    /// Runs the images forward, asks `outputGradient(logits, dLogits)` for the loss'
    /// gradient with respect to the logits, and adds the parameters' gradient to
    /// `gradient` (`parameterCount` values).
    func accumulateGradient(_ parameters: UnsafePointer<Scalar>, inputs: UnsafePointer<Scalar>, count: Int,
                            gradient: UnsafeMutablePointer<Scalar>, workspace: Workspace,
                            outputGradient: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>) -> Void)
}

/// PyTorch's default initialisation of `nn.Conv2d` and `nn.Linear` (what DC's
/// networks use): weights and bias uniform in `±1/sqrt(fanIn)`.
func uniformFanIn<S: NetworkScalar>(_ count: Int, fanIn: Int, _ random: inout SplitMix64) -> [S] {
    let bound = 1 / Double(fanIn).squareRoot()
    return (0..<count).map { _ in S((2 * random.nextUniform() - 1) * bound) }
}
