import Foundation
import Testing

/// The line that opens a run counts in the singular too: "(1 step, 1 thread)",
/// not "(1 steps, 1 threads)".
@Suite struct StartLineCountTests {
    @Test func oneStepAndOneThreadAreSingular() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let result = try runDistill(["--data", s.data.path, "--out", s.path + "/out", "--steps", "1", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("per class (1 step, 1 thread);"), "\(result.stdout)")
    }
}
