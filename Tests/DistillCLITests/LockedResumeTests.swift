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
        let out = try stoppedRun(in: s)
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

/// `--data` given on a resume is the dataset's new place even when it is spelt as
/// the default (`--data data/mnist`): it is read and checked against the run's
/// SHA-256, not ignored for the checkpoint's dataset.
@Suite struct ResumeDataGivenTests {
    @Test func dataGivenAsTheDefaultIsStillGiven() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = try stoppedRun(in: s)
        // A different dataset at data/mnist, relative to the resume's working directory.
        let work = s.path + "/work"
        try FileManager.default.createDirectory(atPath: work + "/data", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: s.data.path, toPath: work + "/data/mnist")
        let file = work + "/data/mnist/t10k-images-idx3-ubyte"
        var bytes = try #require(FileManager.default.contents(atPath: file))
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        let result = try distillCommand(["run", "--resume", out, "--data", "data/mnist", "--quiet"], in: work)
        #expect(result.status == 1, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("error: data/mnist: the dataset files differ"), "\(result.stderr)")
    }
}

/// A 4-step run on `s`'s dataset stopped after step 2 (`--stop-after-step`), into
/// `s.path/out`; returns that folder.
private func stoppedRun(in s: RunFaultTests.Scratch) throws -> String {
    let out = s.path + "/out"
    let first = try runDistill(["--data", s.data.path, "--out", out, "--steps", "4", "--stop-after-step", "2", "--quiet"])
    #expect(first.status == 0, "\(first.stderr)")
    return out
}
