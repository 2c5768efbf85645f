import ArgumentParser
@testable import DistillCLI
import Foundation
import Synchronization
import Testing

/// Every error line of `distill` has one form, "error: ...", one line on
/// standard error with status 1, whichever command and whichever part of it
/// finds the error, and however often the same command is run.
@Suite struct ErrorLineTests {
    /// ArgumentParser's own exit path (`exit(withError:)`, `fullMessage(for:)`)
    /// writes the same "error: " as `exitReporting`, not its default "Error: ".
    @Test func argumentParsersOwnExitPathUsesTheSameForm() throws {
        var errors: [any Error] = [ValidationError("--batch: expected at least 1, found '-5'")]
        for arguments in [["run", "--steps", "many"], ["run", "--no-such-option"], ["eval", "--seeds"]] {
            do { _ = try DistillCommand.parseAsRoot(arguments) } catch { errors.append(error) }
        }
        #expect(errors.count == 4)
        for error in errors {
            let text = DistillCommand.fullMessage(for: error)
            #expect(text.hasPrefix("error: "), "\(text)")
            #expect(DistillCommand.oneLineErrorMessage(error).hasPrefix("error: "))
        }
    }

    /// The same refused command, run many times, two at a time, writes the same
    /// bytes each time.
    @Test func theSameBadCommandGivesTheSameLineEveryTime() throws {
        let arguments = ["run", "--steps", "many", "--data", "/nonexistent-distill-data"]
        let runs = 24
        let results = Mutex<[DistillResult?]>(Array(repeating: nil, count: runs))
        DispatchQueue.concurrentPerform(iterations: runs) { i in
            let result = try? distillCommand(arguments)
            results.withLock { $0[i] = result }
        }
        let all = results.withLock { $0 }.compactMap { $0 }
        #expect(all.count == runs)
        for result in all {
            #expect(result.status == 1)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr == "error: --steps: expected an integer, found 'many'\n", "\(result.stderr)")
        }
    }

    /// Bad input of every kind, in every command, found at every stage: one
    /// line "error: ...", status 1, nothing on standard output.
    @Test func everyKindOfBadInputIsOneErrorLine() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        try s.data.edit("t10k-labels-idx1-ubyte") { $0[3] = 2 }
        let broken = s.path + "/broken"
        try FileManager.default.copyItem(atPath: s.data.path, toPath: broken)
        try s.data.writeSmallDataset()
        let data = s.data.path, out = s.path + "/out"
        let cases: [[String]] = [
            ["run", "--steps", "many"],                                      // ArgumentParser: not a number
            ["run", "--no-such-option"],                                     // ArgumentParser: unknown option
            ["frobnicate"],                                                  // ArgumentParser: unexpected argument
            ["convert", "--data", data],                                     // ArgumentParser: missing option
            ["run", "--batch", "-5"],                                        // validate()
            ["sweep", "--images-per-class", "1,0"],                          // validate()
            ["run", "--data", "/nonexistent-distill-data", "--out", out],    // the dataset folder
            ["run", "--data", broken, "--out", out],                         // an IDX file
            ["run", "--data", data, "--out", out, "--batch", "13"],          // once the data is loaded
            ["run", "--resume", s.path + "/no-run"],                         // a checkpoint
            ["eval", "--distilled", s.path + "/no-set", "--data", data],     // eval's set
            ["sweep", "--data", broken, "--out", out],
            ["check", "--data", broken],
            ["bench", "--data", broken],
            ["convert", "--data", broken, "--out", out],
        ]
        for arguments in cases {
            let result = try distillCommand(arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stdout.isEmpty, "\(arguments)")
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.hasSuffix("\n")
                    && result.stderr.filter { $0 == "\n" }.count == 1, "\(arguments): \(result.stderr)")
        }
    }
}
