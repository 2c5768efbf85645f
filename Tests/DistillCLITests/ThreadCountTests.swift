import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// `--threads`: an absurd count is refused, more than the processors is a warning.
@Suite struct ThreadCountTests {
    @Test func anAbsurdThreadCountIsRefused() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for command in ["run", "check", "bench", "eval"] {
            let extra = command == "eval" ? ["--distilled", "x"] : []
            let result = try distillCommand([command, "--threads", "100000", "--data", "/nonexistent-distill-data"] + extra)
            #expect(result.status == 1)
            #expect(result.stderr == "error: --threads: expected a value between 1 and 1024, found '100000'; this machine has \(counted(cores, "processor")) available\n", "\(command)")
        }
    }

    /// More threads than processors is allowed (a run made elsewhere is
    /// reproduced with its count) with one line of warning.
    @Test func moreThreadsThanProcessorsIsAWarning() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threads = max(cores, 2) + 1
        let result = try distillCommand(["check", "--threads", "\(threads)", "--data", "/nonexistent-distill-data"])
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3, "\(result.stderr)")
        #expect(lines.first.map(String.init) == "warning: --threads \(threads) is more than the \(counted(cores, "processor")) available; the passes will be slower than with --threads \(cores), but results depend on the thread count, so \(threads) are used")
        #expect(lines.dropFirst().first?.hasPrefix("error: ") == true)
        let quiet = try distillCommand(["check", "--threads", "\(max(cores, 2))", "--data", "/nonexistent-distill-data"])
        #expect(!quiet.stderr.contains("warning"), "\(quiet.stderr)")
    }
}
