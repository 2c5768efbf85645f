import DistillRun
import Foundation
import Testing
import Distill
import DistillDatasets
import DistillIO
import DistillNumerics
@testable import DistillCLI
import DistillImages
import _TestSupport

/// Distilled sets hold up outside the loop: a model trained from scratch on
/// the written files alone (images, soft labels, learned L2) by another solver
/// (L-BFGS on the primal, not Newton-CG) reaches the reported test accuracy.
@Suite(.serialized) struct RetrainTests {
    @Test func theWrittenFilesAloneReproduceTheReportedAccuracy() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = scratch.path + "/data", out = scratch.path + "/out"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try RunEndToEndTests.writeSubset(to: data, train: 2000, test: 1000)
        try DistillCommand.Run.parse(["--data", data, "--out", out, "--steps", "60", "--quiet"]).run()

        let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")))
        let imagesFile = try IDX.read(contentsOf: out + "/distilled-images-idx3-float")
        let labelsFile = try IDX.read(contentsOf: out + "/distilled-labels-idx2-float")
        let m = imagesFile.shape[0], p = imagesFile.shape[1] * imagesFile.shape[2], c = labelsFile.shape[1]
        let problem = SoftmaxRegression(images: Matrix(rows: m, columns: p, values: imagesFile.doubles()),
                                        labels: Matrix(rows: m, columns: c, values: labelsFile.doubles()), l2: metrics.learnedL2)
        let solution = LBFGS(relativeTolerance: 1e-7, maxIterations: 5000).minimize(from: [Double](repeating: 0, count: p * c)) { w in
            let evaluation = problem.evaluate(at: Matrix(rows: p, columns: c, values: w))
            return (evaluation.value, evaluation.gradient.values)
        }
        #expect(solution.converged, "L-BFGS gradient norm \(solution.gradientNorm), tolerance \(solution.tolerance)")
        let folder = try DatasetFolder.load(data)
        let test = LabeledImages(folder.test, classes: folder.classes)
        let retrained = Evaluation(weights: Matrix(rows: p, columns: c, values: solution.x), on: test, threads: 2)
        #expect(abs(retrained.accuracy - metrics.testAccuracy) <= 0.003,
                "retrained \(retrained.accuracy) vs reported \(metrics.testAccuracy)")
    }

    /// Runs `python3 tools/retrain.py arguments...`; nil status when python3 could not be started.
    static func retrain(_ arguments: [String]) throws -> DistillResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestSupport.packageRoot() + "/tools/retrain.py"] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile(), stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return DistillResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                             stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Whether python3 with numpy and scipy (what tools/retrain.py needs) can be run here.
    static let pythonWithNumpy: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy, scipy"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// A reader that stops early (`tools/retrain.py --help | head`) ends the
    /// scripts quietly: no BrokenPipeError traceback on standard error. The pipe's
    /// reading end is closed before the script starts, so its first write fails.
    @Test(.enabled(if: pythonWithNumpy, "python3 with numpy and scipy runs the tools"),
          arguments: ["retrain.py", "ntk-subset-curve.py", "bench-reference.py"])
    func helpIntoAClosedPipeIsQuiet(script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestSupport.packageRoot() + "/tools/" + script, "--help"]
        let output = Pipe(), errors = Pipe()
        try output.fileHandleForReading.close()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        try output.fileHandleForWriting.close()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(stderr.isEmpty, "\(script): \(stderr)")
    }

    /// tools/retrain.py refuses every bad input with one line naming the folder or
    /// file and what was expected, and status 1 (it used to print tracebacks).
    @Test(.enabled(if: pythonWithNumpy, "python3 with numpy and scipy runs tools/retrain.py"))
    func theRetrainScriptRefusesBadInputInOneLine() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let run = scratch.path + "/run", missing = scratch.path + "/nonexist"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let cases: [([String], String)] = [
            ([missing], "error: \(missing): no such folder; expected the output folder of a distill run (metrics.json, distilled-images-idx3-float, distilled-labels-idx2-float)"),
            ([run], "error: \(run)/metrics.json: not found; expected the metrics.json of a distill run (is \(run) a run's --out folder?)"),
            ([run, "a", "b"], "error: expected at most 2 arguments (the run's folder, then a dataset folder), found 3: \(run) a b"),
        ]
        for (check, expected) in cases {
            let result = try Self.retrain(check)
            #expect(result.status == 1 && result.stderr == expected + "\n", "\(check): \(result.stderr)")
        }
        // Malformed metrics.json files.
        for (json, expected) in [("[1", "expected JSON, found an error at line 1, column 3 (Expecting ',' delimiter)"),
                                 (#"{"l2": "x", "test_accuracy": 0.5}"#, #"expected a positive number under l2, found "x""#),
                                 (#"{"l2": 0.1}"#, "expected a number under test_accuracy, found null")] {
            try json.write(toFile: run + "/metrics.json", atomically: true, encoding: .utf8)
            let result = try Self.retrain([run])
            #expect(result.status == 1 && result.stderr == "error: \(run)/metrics.json: \(expected)\n", "\(json): \(result.stderr)")
        }
        // A truncated image file and a dataset of another image size.
        try #"{"l2": 0.1, "test_accuracy": 0.5, "dataset": "\#(missing)"}"#.write(toFile: run + "/metrics.json", atomically: true, encoding: .utf8)
        let noData = try Self.retrain([run])
        #expect(noData.status == 1 && noData.stderr == "error: \(missing): no such dataset folder; expected an IDX dataset folder (MNIST's file names), the one \(run)/metrics.json records unless given\n", "\(noData.stderr)")
        let data = scratch.path + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try RunEndToEndTests.writeSubset(to: data, train: 20, test: 10)
        try Data(idxHeader(0x0D, [2, 3, 3]) + [0, 0]).write(to: URL(fileURLWithPath: run + "/distilled-images-idx3-float"))
        let truncated = try Self.retrain([run, data])
        #expect(truncated.status == 1 && truncated.stderr == "error: \(run)/distilled-images-idx3-float: shape [2, 3, 3] needs 72 bytes of values, found 2\n", "\(truncated.stderr)")
        try IDX.write(IDXArray(shape: [2, 3, 3], elements: .float32([Float](repeating: 0.5, count: 18))), to: run + "/distilled-images-idx3-float")
        try IDX.write(IDXArray(shape: [2, 10], elements: .float32([Float](repeating: 0.1, count: 20))), to: run + "/distilled-labels-idx2-float")
        let otherSize = try Self.retrain([run, data])
        #expect(otherSize.status == 1 && otherSize.stderr.hasPrefix("error: \(data)/t10k-images-idx3-ubyte: images of 784 values each, expected 9 as the distilled images have"), "\(otherSize.stderr)")
        for result in [noData, truncated, otherSize] { #expect(!result.stderr.contains("Traceback") && result.stderr.split(separator: "\n").count == 1) }
    }
}
