import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// A finished run resumed with too few steps is told how many to give.
@Suite struct FinishedRunStepsTests {
    /// A finished run of 3 steps resumed with --steps 2 is told 4 or more
    /// (3 is refused: nothing to resume), and 4 works.
    @Test func aFinishedRunIsToldHowManyStepsToGive() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let first = try runDistill(["--data", s.data.path, "--out", out, "--steps", "3", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let tooFew = try runDistill(["--resume", out, "--steps", "2", "--quiet"])
        #expect(tooFew.stderr == "error: --steps 2: a resumed run can only be extended, and this one was started with --steps 3 (its checkpoint is at step 3); give --steps 4 or more (it finished)\n")
        let same = try runDistill(["--resume", out, "--steps", "3", "--quiet"])
        #expect(same.status == 1 && same.stderr.contains("with N above 3"), "\(same.stderr)")
        let advised = try runDistill(["--resume", out, "--steps", "4", "--quiet"])
        #expect(advised.status == 0, "\(advised.stderr)")
        #expect(try RunFaultTests.metrics(out)["steps"] as? Int == 4)
    }
}
