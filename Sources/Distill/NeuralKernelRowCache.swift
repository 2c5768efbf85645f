import DistillNumerics
import Synchronization

/// The row statistics (`NeuralKernelPass.RowStatistics`) of the image sets a
/// `NeuralKernelModel`'s fused pass ran over, so that each outer step's pass over the
/// same training set does not find them again. Keyed by the identity of the
/// `OuterPass` (whose `data` cannot change), held weakly: a pass that has gone (a
/// batch's, an evaluation's, another dataset's) never matches a new one, even one at
/// the same address, and its entry is dropped. Up to `capacity` passes alive at once
/// are kept (a benchmark's pass beside the distiller's own), the least recently used
/// dropped first. Shared by the copies of a model; safe to use from any thread.
final class NeuralKernelRowCache: Sendable {
    private struct Entry {
        weak var pass: OuterPass?
        let statistics: NeuralKernelPass.RowStatistics?
    }

    /// The most passes kept at once.
    static let capacity = 4

    /// Least recently used first.
    private let entries = Mutex<[Entry]>([])

    /// `pass.data`'s row statistics: the kept ones when `pass` is a pass they were
    /// found for, else found now (on `pass.threads`) and kept.
    func statistics(for pass: OuterPass) -> NeuralKernelPass.RowStatistics? {
        let kept = entries.withLock { entries -> NeuralKernelPass.RowStatistics?? in
            entries.removeAll { $0.pass == nil }
            guard let index = entries.firstIndex(where: { $0.pass === pass }) else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry)
            return .some(entry.statistics)
        }
        if let kept { return kept }
        let found = NeuralKernelPass.RowStatistics(data: pass.data, threads: pass.threads,
                                                   kernel: pass.usesAVX512 ? .automatic : .portable)
        entries.withLock { entries in
            entries.append(Entry(pass: pass, statistics: found))
            if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
        }
        return found
    }
}
