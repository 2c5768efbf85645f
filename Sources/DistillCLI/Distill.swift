import ArgumentParser
import DistillRun

@main
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Condense a labelled image set into a few synthetic images by implicit differentiation.",
        discussion: """
            Distill learns a tiny synthetic training set: an inner model trained to \
            optimality on it does well on the whole real training set. The inner model \
            is chosen with `--model`: logistic (a linear softmax classifier, the default), \
            ridge (linear ridge regression), kernel-ridge (kernel ridge regression), nngp \
            or ntk (kernel ridge regression with the NNGP or NTK kernel of a ReLU network). \
            The synthetic images are moved by the implicit gradient of the training-set loss \
            (implicit function theorem and one linear solve; the logistic model can also \
            unroll its inner steps). Datasets: MNIST-named IDX files, class folders of PNG \
            files, or CIFAR-10/100 binary files.

            Examples:
              distill                    # data/mnist, 1 image per class, into out/
              distill run --images-per-class 10 --out out-10
              distill run --data ~/datasets/fashion --steps 500
            """,
        version: DistillVersion.current,
        subcommands: [Run.self, Sweep.self, Eval.self, Check.self, Bench.self, Convert.self],
        defaultSubcommand: Run.self)

    /// Sets standard output to line buffering before any command runs: printed
    /// to a pipe or a file, each line appears as the run goes instead of when
    /// the program exits (the C library buffers whole blocks when it is not a
    /// terminal).
    static func main() {
        lineBufferStandardOutput()
        main(nil)
    }
}
