import DistillRun
import Foundation
import Testing
import Distill
import DistillDatasets
import DistillIO
import DistillNumerics
@testable import DistillCLI
import DistillImages

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
}
