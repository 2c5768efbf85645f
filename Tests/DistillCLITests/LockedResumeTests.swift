import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// A resume into a folder another run holds is refused before it is announced.
@Suite struct LockedResumeTests {
    /// A resume into a folder another process is writing into is refused before
    /// "Resuming from step ..." is printed.
    @Test func aLockedFolderIsRefusedBeforeTheResumeIsAnnounced() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let first = try runDistill(["--data", s.data.path, "--out", out, "--steps", "4", "--stop-after-step", "2", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let fd = open(out + "/.distill-lock", O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        ftruncate(fd, 0)
        _ = "\(getpid())\n".withCString { write(fd, $0, strlen($0)) }
        let result = try runDistill(["--resume", out])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr == "error: \(out): another distill run (process \(getpid())) is writing into this folder; wait for it to end or choose another --out\n")
    }
}
