import DistillRun
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM that come before a run's steps are guarded, while the
/// dataset loads (`SignalsBeforeRun`), and a SIGINT the process was started
/// with ignored (a background job of a non-interactive shell), through the
/// real `distill` executable.
///
/// Loading is held deterministically: every image of the PNG tree is a FIFO,
/// and opening one for reading blocks until a writer opens it, which the tests
/// never do. A test signals once the process is seen blocked there (its thread's
/// wait channel, /proc/PID/task/TID/wchan, is the kernel's `wait_for_partner`).
@Suite struct SignalBeforeRunTests {
    /// A PNG train/test tree of 2 classes whose `.png` files are FIFOs.
    static func fifoTree(in scratch: ScratchFolder) throws -> String {
        let tree = scratch.path + "/tree"
        for split in ["train", "test"] {
            for name in ["a", "b"] {
                let folder = "\(tree)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                #expect(mkfifo(folder + "/0.png", 0o600) == 0)
            }
        }
        return tree
    }

    /// `distill arguments...`, started through `wrapper` (a command that runs its
    /// arguments with `exec`, so that the process keeps its id), with its
    /// output read to the end by `finish`.
    final class Started {
        let process = Process()
        let output = Pipe(), errors = Pipe()

        init(_ arguments: [String], wrapper: [String] = []) throws {
            let executable = try #require(distillExecutable)
            let command = wrapper + [executable] + arguments
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
            process.standardOutput = output
            process.standardError = errors
            try process.run()
        }

        /// Whether one of the process's threads waits in the kernel's FIFO open
        /// for a writer, polled for up to a minute; false if it ended first.
        func waitUntilBlockedOpeningAFIFO() -> Bool {
            let tasks = "/proc/\(process.processIdentifier)/task"
            for _ in 0..<6000 {
                guard process.isRunning else { return false }
                for task in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
                    let channel = try? String(contentsOfFile: "\(tasks)/\(task)/wchan", encoding: .utf8)
                    if channel == "wait_for_partner" { return true }
                }
                usleep(10_000)
            }
            return false
        }

        /// Its output once it ends; killed (status nil) if it has not ended a
        /// minute after the call: a signal it blocks or ignores must not hang the suite
        /// (a parent's blocked mask survives exec: the test runner's does).
        /// (Its output is a few lines: it fits in the pipes until it is read.)
        func finish() -> DistillResult {
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            let stdout = output.fileHandleForReading.readDataToEndOfFile()
            let stderr = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return DistillResult(status: process.terminationReason == .exit ? process.terminationStatus : nil,
                                 stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
        }
    }

    /// Runs its arguments with SIGINT ignored, as a shell starts a background job
    /// without job control (the disposition survives exec).
    static let interruptIgnored = ["/bin/sh", "-c", "trap '' INT; exec \"$0\" \"$@\""]

    /// Runs its arguments with `signal` blocked and already pending (sent to
    /// itself while blocked; the mask and the pending set survive exec), so that
    /// it reaches distill at the very moment distill unblocks it.
    static func pending(_ signal: String) -> [String] {
        ["/usr/bin/perl", "-MPOSIX", "-e", "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIG\(signal))) or die; kill('\(signal)', $$); exec(@ARGV) or die"]
    }

    /// A signal at the first instruction of `main` (before the options are
    /// parsed, which takes milliseconds) gets the one line and status 143 or 130:
    /// the handler is installed first thing, before the signals are unblocked.
    /// (It used to be installed once the dataset started loading, after the
    /// signals were unblocked, so such a signal ended the process silently.)
    @Test func aSignalAsMainStartsStopsWithOneLine() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let out = scratch.path + "/out"
        for (signal, status, line) in [("TERM", Int32(143), "Stopped (SIGTERM) while starting; no output was written.\n"),
                                       ("INT", 130, "Interrupted (SIGINT) while starting; no output was written.\n")] {
            for command in [["run", "--data", scratch.path + "/missing", "--out", out, "--steps", "3"],
                            ["sweep", "--data", scratch.path + "/missing", "--out", out], ["eval", "--distilled", out]] {
                let end = try Started(command, wrapper: Self.pending(signal)).finish()
                #expect(end.status == status, "\(command) SIG\(signal): nil: ended by the signal itself; \(end.stderr)")
                #expect(end.stderr == line, "\(command)")
                #expect(end.stdout.isEmpty && !FileManager.default.fileExists(atPath: out))
            }
        }
    }

    /// SIGTERM while `run` loads its dataset: one line naming what was
    /// interrupted, status 143, and no output folder (it used to end the
    /// process by the signal's default action, with no message).
    @Test func aSignalWhileTheDatasetLoadsStopsWithOneLine() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = try Self.fifoTree(in: scratch)
        let out = scratch.path + "/out"
        let run = try Started(["run", "--data", tree, "--out", out, "--steps", "3"])
        let blocked = run.waitUntilBlockedOpeningAFIFO()
        #expect(blocked, "distill did not block opening a FIFO of the dataset")
        kill(run.process.processIdentifier, blocked ? SIGTERM : SIGKILL)
        let end = run.finish()
        #expect(end.status == 143, "nil: ended by the signal itself; \(end.stderr)")
        #expect(end.stderr == "Stopped (SIGTERM) while loading the dataset \(tree); no output was written.\n")
        #expect(end.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// The same for `sweep`, with SIGINT.
    @Test func anInterruptWhileASweepLoadsItsDatasetStopsWithOneLine() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = try Self.fifoTree(in: scratch)
        let out = scratch.path + "/sweep"
        // Foundation's Process starts it with every signal at its default action.
        let run = try Started(["sweep", "--data", tree, "--out", out, "--steps", "3"])
        let blocked = run.waitUntilBlockedOpeningAFIFO()
        #expect(blocked, "distill did not block opening a FIFO of the dataset")
        kill(run.process.processIdentifier, blocked ? SIGINT : SIGKILL)
        let end = run.finish()
        #expect(end.status == 130, "nil: ended by the signal itself; \(end.stderr)")
        #expect(end.stderr == "Interrupted (SIGINT) while loading the dataset \(tree); no output was written.\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// Started with SIGINT ignored, `run` leaves it ignored while loading: the
    /// SIGINT is lost and the SIGTERM after it stops the process (had SIGINT
    /// been caught, it would have been the first signal, with status 130).
    @Test func anInterruptIgnoredAtStartStaysIgnoredWhileLoading() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = try Self.fifoTree(in: scratch)
        let out = scratch.path + "/out"
        let run = try Started(["run", "--data", tree, "--out", out, "--steps", "3"], wrapper: Self.interruptIgnored)
        let blocked = run.waitUntilBlockedOpeningAFIFO()
        #expect(blocked, "distill did not block opening a FIFO of the dataset")
        kill(run.process.processIdentifier, blocked ? SIGINT : SIGKILL)
        kill(run.process.processIdentifier, SIGTERM)
        let end = run.finish()
        #expect(end.status == 143, "\(end.stderr)")
        #expect(end.stderr == "Stopped (SIGTERM) while loading the dataset \(tree); no output was written.\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// And during the steps: SIGINT is lost, SIGTERM stops the run after its
    /// step with its outputs and checkpoint (it used to stop on the SIGINT,
    /// unlike a SIGINT that came during loading, which was lost).
    @Test func anInterruptIgnoredAtStartStaysIgnoredDuringTheSteps() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let out = scratch.path + "/out"
        let run = try Started(["run", "--data", data.path, "--out", out, "--steps", "1000000", "--checkpoint-every", "0"],
                              wrapper: Self.interruptIgnored)
        // The opening line comes once the session guards the run.
        var first: [UInt8] = []
        var byte: UInt8 = 0
        while read(run.output.fileHandleForReading.fileDescriptor, &byte, 1) == 1, byte != UInt8(ascii: "\n") { first.append(byte) }
        #expect(String(decoding: first, as: UTF8.self).hasPrefix("Distilling"))
        kill(run.process.processIdentifier, SIGINT)
        kill(run.process.processIdentifier, SIGTERM)
        let end = run.finish()
        #expect(end.status == 143, "\(end.stderr)")
        #expect(end.stdout.contains("Stopped (SIGTERM) after step") && !end.stdout.contains("SIGINT"), "\(end.stdout)")
        #expect(try Checkpoint.read(from: out).state.step >= 1)
    }
}
