import DistillIO
import Foundation
import Testing
@testable import DistillCLI
@testable import DistillRun

/// Issue 11, kind 6: on resume every option of `run` is carried over, allowed
/// to change or refused with a sentence (`ResumeRules`), through the real binary.
@Suite(.serialized) struct ResumeRulesTests {
    /// The long option names `run --help` lists (nothing wraps at this width).
    static func runOptionNames() -> Set<String> {
        var names: Set<String> = []
        for line in DistillCommand.Run.helpMessage(columns: 100_000).split(separator: "\n") {
            let text = line.drop { $0 == " " }
            guard line.hasPrefix("  "), let range = text.range(of: "--"),
                  text[..<range.lowerBound].allSatisfy({ $0 == "-" || $0.isLetter || $0 == "," || $0 == " " }) else { continue }
            let name = text[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if !name.isEmpty { names.insert(String(name)) }
        }
        return names
    }

    @Test func everyOptionOfRunIsClassifiedForResume() {
        let listed = Self.runOptionNames()
        #expect(listed.count > 30 && listed.contains("snapshot-every") && listed.contains("test-fraction"))
        #expect(listed.subtracting(ResumeRules.rules.keys).isEmpty, "options of run without a resume rule")
        #expect(Set(ResumeRules.rules.keys).subtracting(listed).isEmpty, "resume rules for options run does not have")
        // Each configuration option is one `ResumeOptions` checks.
        let configuration = Set(ResumeRules.rules.filter { $0.value == .configuration }.keys.map { "--" + $0 })
        #expect(configuration == Set(ResumeOptions.optionNames.values).subtracting(["--linear-solve-max-iterations", "--kernel-bandwidth"]))
        #expect(ResumeRules.given(["--resume", "o", "--test-fraction=0.5", "3", "--", "--zoom"]) == ["resume", "test-fraction"])
    }

    /// A class-per-folder PNG tree of 3 classes of 8x8 grey images.
    static func tree(in scratch: ScratchFolder) throws -> String {
        let tree = scratch.path + "/tree"
        for c in 0..<3 {
            try FileManager.default.createDirectory(atPath: "\(tree)/c\(c)", withIntermediateDirectories: true)
            for i in 0..<10 {
                let pixels = (0..<64).map { UInt8(truncatingIfNeeded: ($0 * (c + 3)) % 64 * 4 + (i * 7) % 20) }
                try PNGImage(width: 8, height: 8, channels: 1, pixels: pixels).write(to: "\(tree)/c\(c)/\(i).png")
            }
        }
        return tree
    }

    @Test func aChangedDataSplitOptionIsRefusedOnResumeAndSnapshotEveryCarriesOver() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tree = try Self.tree(in: scratch), out = scratch.path + "/out"
        let first = try runDistill(["--data", tree, "--test-fraction", "0.3", "--seed", "5", "--steps", "4", "--stop-after-step", "1",
                                    "--snapshot-every", "1", "--out", out, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let metricsBefore = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))
        let progressBefore = try Data(contentsOf: URL(fileURLWithPath: out + "/progress.png"))
        for (option, value, recorded) in [("--test-fraction", "0.5", "--test-fraction 0.3"), ("--split-seed", "3", "--split-seed 0"),
                                          ("--snapshot-every", "2", "--snapshot-every 1"), ("--zoom", "2", "--zoom 4"),
                                          ("--class-names", tree + "/names.txt", "no --class-names"),
                                          // Given with its default value, a setting of the configuration is still compared.
                                          ("--seed", "0", "--seed 5")] {
            let refused = try runDistill(["--resume", out, option, value])
            #expect(refused.status == 1)
            #expect(refused.stderr == "error: \(option) \(value): a resumed run keeps the settings it was started with (\(recorded)); leave \(option) out, or start a new run into another --out\n")
        }
        // Another dataset given with --data is refused as not the run's, naming --data (not the recorded split option).
        let idx = DataFolder(scratch: scratch.path + "/idx")
        try idx.writeSmallDataset()
        let otherData = try runDistill(["--resume", out, "--data", idx.path])
        #expect(otherData.status == 1)
        #expect(otherData.stderr.hasPrefix("error: --data \(idx.path): expected the dataset this run was started with ("))
        #expect(otherData.stderr.hasSuffix("found an IDX folder\n"), "\(otherData.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")) == metricsBefore)
        // The same value is accepted; --snapshot-every 1 carries over.
        let resumed = try runDistill(["--resume", out, "--test-fraction", "0.3", "--stop-after-step", "3", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: out + "/snapshots").sorted()
        #expect(snapshots == (0...3).map { SnapshotWriter.fileName(step: $0) })
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/progress.png")) != progressBefore, "progress.png left at step 1")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as? [String: Any]
        #expect(json?["test_fraction"] as? Double == 0.3 && json?["split_seed"] as? Int == 0 && json?["steps"] as? Int == 3)
        #expect(try Checkpoint.read(from: out).manifest.recordedOptions == ["snapshot-every": "1", "zoom": "4"])
    }
}
