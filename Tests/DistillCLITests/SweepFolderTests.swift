import DistillRun
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 point 4 for `distill sweep`, through the real executable: an output
/// folder belongs to one sweep at a time, and one holding an earlier sweep is
/// refused before any work unless `--replace` is given (which removes every
/// file of the old sweep).
@Suite struct SweepFolderTests {
    static let quick = ["--steps", "1", "--baselines", "off", "--quiet"]

    static func contents(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    /// A size's folder holding a stopped run: the sweep says what `run` says of
    /// it (`OccupiedFolder`), with the ways out that work for each command, and
    /// the advised `distill run --resume` is accepted.
    @Test func aStoppedRunInASizesFolderIsDescribedAsRunDescribesIt() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/sweep", folder = out + "/ipc-1"
        let stopped = try RunFaultTests.distill(["run", "--data", s.data.path, "--out", folder, "--images-per-class", "1",
                                                 "--steps", "4", "--stop-after-step", "2", "--quiet"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let files = "metrics.json, history.csv, distilled.png, distilled-images-idx3-float, distilled-labels-idx1-ubyte, distilled-labels-idx2-float, report.html, checkpoint"
        let sweep = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "1"] + Self.quick)
        #expect(sweep.status == 1)
        #expect(sweep.stderr == "error: \(folder): the folder holds another run's outputs, stopped at step 2 of 4 (\(files)); pass --replace to delete them, or choose another --out (to continue that run instead: distill run --resume \(folder))\n")
        let run = try RunFaultTests.distill(["run", "--data", s.data.path, "--out", folder, "--images-per-class", "1", "--steps", "4", "--quiet"])
        #expect(run.stderr == "error: \(folder): the folder holds another run's outputs, stopped at step 2 of 4 (\(files)); pass --replace to delete them and write this run's, continue that run with --resume \(folder), or choose another --out\n")
        let resumed = try RunFaultTests.distill(["run", "--resume", folder, "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test func aFolderHoldingAnEarlierSweepIsRefusedBeforeAnyWorkUnlessReplaced() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/sweep"
        let first = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "1,2"] + Self.quick)
        #expect(first.status == 0, "\(first.stderr)")
        let metrics = try Data(contentsOf: URL(fileURLWithPath: out + "/ipc-1/metrics.json"))

        // The same sizes again: the first size's folder holds a run.
        let again = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "1,2"] + Self.quick)
        #expect(again.status == 1)
        #expect(again.stderr == "error: \(out)/ipc-1: the folder holds a finished run (1 of 1 steps; metrics.json, history.csv, distilled.png, distilled-images-idx3-float, distilled-labels-idx1-ubyte, distilled-labels-idx2-float, report.html, checkpoint); pass --replace to delete them, or choose another --out (to run that one longer instead: distill run --resume \(out)/ipc-1 --steps N, with N above 1)\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/ipc-1/metrics.json")) == metrics)

        // Other sizes: the earlier summaries and runs would stay beside the new ones.
        let other = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "3"] + Self.quick)
        #expect(other.status == 1)
        #expect(other.stderr == "error: \(out): the folder holds earlier outputs (sweep.csv, sweep.md, sweep.svg, ipc-1, ipc-2); pass --replace to delete them, or choose another --out\n")
        #expect(Self.contents(out) == [".distill-lock", "ipc-1", "ipc-2", "sweep.csv", "sweep.md", "sweep.svg"])

        // --replace removes every file of the earlier sweep.
        let replaced = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "3", "--replace"] + Self.quick)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(Self.contents(out) == [".distill-lock", "ipc-3", "sweep.csv", "sweep.md", "sweep.svg"])
        let csv = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 2 && csv[1].hasPrefix("3,"))
    }

    /// This process holds a folder's lock, as a running `distill run` or sweep does.
    final class HeldLock {
        let fd: Int32
        init(_ folder: String) throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            fd = open(folder + "/" + OutputFolderLock.fileName, O_RDWR | O_CREAT, 0o644)
            #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            _ = "\(getpid())\n".withCString { write(fd, $0, strlen($0)) }
        }
        deinit { close(fd) }
    }

    @Test func aFolderAnotherRunIsWritingIntoIsRefusedBeforeAnyWork() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/sweep"
        // A run writing into the second size's folder: refused before the first size runs.
        do {
            let held = try HeldLock(out + "/ipc-2")
            let result = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "1,2"] + Self.quick)
            #expect(result.status == 1)
            #expect(result.stderr == "error: \(out)/ipc-2: another distill run (process \(getpid())) is writing into this folder; wait for it to end or choose another --out\n")
            #expect(Self.contents(out) == ["ipc-2"])
            withExtendedLifetime(held) {}
        }
        // Another sweep (or run) holding the folder itself, --replace or not.
        do {
            let held = try HeldLock(out)
            for replace in [[], ["--replace"]] {
                let result = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "1"] + Self.quick + replace)
                #expect(result.status == 1)
                #expect(result.stderr == "error: \(out): another distill run (process \(getpid())) is writing into this folder; wait for it to end or choose another --out\n")
            }
            #expect(Self.contents(out) == [".distill-lock", "ipc-2"])
            #expect(Self.contents(out + "/ipc-2") == [".distill-lock"])
            withExtendedLifetime(held) {}
        }
        // Once free, the sweep runs.
        let free = try RunFaultTests.distill(["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "1,2"] + Self.quick)
        #expect(free.status == 0, "\(free.stderr)")
    }
}
