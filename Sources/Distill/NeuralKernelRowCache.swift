import DistillNumerics
import Synchronization

/// The row statistics (`NeuralKernelPass.RowStatistics`) of the last image set a
/// `NeuralKernelModel`'s fused pass ran over, so that each outer step's pass over the
/// same training set does not find them again. Keyed by the identity of the
/// `OuterPass` (whose `data` cannot change), held weakly: a pass that has gone (a
/// batch's, an evaluation's, another dataset's) never matches a new one, even one at
/// the same address. Shared by the copies of a model; safe to use from any thread.
final class NeuralKernelRowCache: Sendable {
    private struct Entry {
        weak var pass: OuterPass?
        let statistics: NeuralKernelPass.RowStatistics?
    }

    private let last = Mutex<Entry?>(nil)

    /// `pass.data`'s row statistics: the kept ones when `pass` is the pass they were
    /// found for, else found now (on `pass.threads`) and kept instead.
    func statistics(for pass: OuterPass) -> NeuralKernelPass.RowStatistics? {
        if let kept = last.withLock({ entry -> NeuralKernelPass.RowStatistics?? in
            guard let entry, let owner = entry.pass, owner === pass else { return nil }
            return .some(entry.statistics)
        }) {
            return kept
        }
        let found = NeuralKernelPass.RowStatistics(data: pass.data, threads: pass.threads,
                                                   kernel: pass.usesAVX512 ? .automatic : .portable)
        last.withLock { $0 = Entry(pass: pass, statistics: found) }
        return found
    }
}
