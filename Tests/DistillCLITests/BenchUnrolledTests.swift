import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// bench refuses `--hypergradient unrolled`, which it would not time (it timed the implicit path silently).
@Suite struct BenchUnrolledTests {
    /// `bench --hypergradient unrolled --unroll-steps 500` used to time the
    /// implicit path silently.
    @Test(arguments: [
        (["--hypergradient", "unrolled", "--unroll-steps", "500"], "--hypergradient unrolled"),
        (["--hypergradient", "unrolled"], "--hypergradient unrolled"),
    ])
    func benchRefusesTheUnrolledHypergradient(arguments: [String], given: String) throws {
        let result = try distillCommand(["bench"] + arguments + ["--data", "/nonexistent-distill-data"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: \(given) has no effect: distill bench times the implicit hypergradient only; leave it out (distill check --measure unrolled times one unrolled hypergradient).\n")
        #expect(result.stdout.isEmpty)
    }
}
