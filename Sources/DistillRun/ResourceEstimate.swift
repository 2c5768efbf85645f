import Distill
#if canImport(Glibc)
import Glibc
#endif

/// A rough upper estimate of the memory a distillation of a requested size
/// holds beyond the loaded dataset, checked before step 1 against the
/// machine's memory, and announced when large.
///
/// Counted in 8-byte Doubles: the synthetic set (`m x p`) about 8 times (the
/// images, their gradient, Adam's two moments, the pull's targets, and the
/// copies the guards keep of the last states); the inner model's parameters
/// and its pass over the `n` training images (`n x C` for the linear models,
/// `n x m` twice for the kernel models, plus `m x m` four times). The unrolled
/// hypergradient also stores its N iterates (`(p + m) x C` each).
public struct ResourceEstimate: Sendable, Equatable {
    /// Estimated bytes.
    public let bytes: Double

    public init(train count: Int, features: Int, classes: Int, configuration c: DistillerConfiguration) {
        let m = Double(classes) * Double(c.imagesPerClass), p = Double(features), n = Double(count), k = Double(classes)
        var doubles = 8 * m * p + 8 * p * k + 2 * n * k
        if ["kernel-ridge", "nngp", "ntk"].contains(c.model) { doubles += 2 * n * m + 4 * m * m }
        if c.hypergradient == .unrolled { doubles += Double(c.unrollSteps) * (2 * p + m) * k }
        bytes = 8 * doubles
    }

    /// The machine's physical memory in bytes (nil if unknown).
    public static var physicalMemory: Double? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? Double(pages) * Double(size) : nil
    }

    /// Announced above this many bytes.
    public static let announceAbove = 2.0 * 1_073_741_824

    /// `bytes` in GiB or MiB.
    public static func text(_ bytes: Double) -> String {
        bytes >= 1_073_741_824 ? String(format: "%.1f GiB", bytes / 1_073_741_824) : String(format: "%.0f MiB", bytes / 1_048_576)
    }

    /// Refuses a size that would not fit in the machine's memory.
    ///
    /// - Throws: `RunError` naming --images-per-class and the estimate.
    public func check(imagesPerClass: Int, memory: Double? = ResourceEstimate.physicalMemory) throws(RunError) {
        guard let memory, bytes > memory else { return }
        throw RunError("--images-per-class \(imagesPerClass): the run would need about \(Self.text(bytes)) of memory, more than the \(Self.text(memory)) of this machine; use a smaller --images-per-class")
    }

    /// The line announcing a large run before it starts (nil when small).
    public var announcement: String? {
        bytes > Self.announceAbove ? "This run will hold about \(Self.text(bytes)) of memory beyond the dataset." : nil
    }
}
