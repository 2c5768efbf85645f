import DistillRun
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Distill
import DistillIO
@testable import DistillCLI

/// The values every formatter must turn into text without trapping (issue 11, point 1).
let awkwardDoubles: [Double] = [
    .nan, -.nan, .signalingNaN, .infinity, -.infinity, 0, -0.0,
    .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
    .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e308, -1e308, 9.2e18, -9.2e18, 1e15, 0.5, 92.64,
    Double(Int.max), Double(Float.greatestFiniteMagnitude), Double(Float.leastNonzeroMagnitude),
]

/// Parses `svg` as XML; throws if it is not well-formed.
final class SVGElements: NSObject, XMLParserDelegate {
    init(_ svg: String) throws {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        guard parser.parse() else { throw CLIError("not well-formed: \(parser.parserError.map(String.init(describing:)) ?? "?")") }
    }
}

private func record(_ x: Double, step: Int = 3) -> StepRecord {
    StepRecord(step: step, trainLoss: x, objective: x, l2: x, trainAccuracy: x, innerIterations: 4, innerGradientNorm: x,
               innerConverged: true, linearSolveIterations: 9, linearSolveResidual: x, linearSolveConverged: true, seconds: x)
}

@Suite struct NumberFormattingTests {
    /// Every number-to-text path of the command line, fed every awkward value.
    @Test func everyFormatterOfTheCommandLineIsTotal() throws {
        let metrics = ReportPageTests.metrics
        for x in awkwardDoubles {
            // Console.
            #expect(!format(x, 4).isEmpty && !scientific(x).isEmpty && !duration(x).isEmpty)
            let fields = ProgressFields(step: 3, steps: 10, elapsed: x, eta: x, loss: x, innerIterations: 4, test: (x, 2))
            for width in [5, 40, 80, 200] { #expect(!fields.line(width: width).isEmpty) }
            #expect(toleranceWarning(StepRecord(step: 1, trainLoss: x, objective: x, l2: x, trainAccuracy: x, innerIterations: 1,
                                                innerGradientNorm: x, innerConverged: false, linearSolveIterations: 1, linearSolveResidual: x,
                                                linearSolveConverged: false, seconds: x)) != nil)
            var m = metrics
            m.trainLoss = x; m.testAccuracy = x; m.trainAccuracy = x; m.seconds = x; m.secondsPerStep = x
            m.baselines = [BaselineResult(name: "random_real", model: "logistic", imagesPerClass: 1, l2: x, testAccuracy: x, testAccuracyStd: x,
                                          trainLoss: x, trainLossStd: x, draws: 5, seconds: x)]
            #expect(RunDisplay.baselineTable(m, m.baselines ?? []).count == 5)
            // JSON lines.
            let json = JSONStepLines.number(x)
            #expect(x.isFinite ? Double(json) == x : json == "null")
            // CSV.
            let csv = RunOutputs.csv([record(x)])
            #expect(csv.split(separator: "\n").count == 2)
            // Sweep: CSV, Markdown, SVG.
            let row = SweepRow(imagesPerClass: 2, testAccuracy: x, trainLoss: x, correlation: x, seconds: x,
                               baselines: [BaselineResult(name: "full_data", model: "logistic", imagesPerClass: nil, l2: x, testAccuracy: x, testAccuracyStd: nil,
                                                          trainLoss: x, trainLossStd: nil, draws: 1, seconds: x),
                                           BaselineResult(name: "class_means", model: "logistic", imagesPerClass: 2, l2: x, testAccuracy: x, testAccuracyStd: nil,
                                                          trainLoss: x, trainLossStd: nil, draws: 1, seconds: x)])
            let report = SweepReport(rows: [row, SweepRow(imagesPerClass: 5, testAccuracy: 0.9, trainLoss: 0.3, correlation: nil,
                                                          seconds: 1, baselines: [])], target: x)
            for line in report.csv.split(separator: "\n").dropFirst() {
                for field in line.split(separator: ",", omittingEmptySubsequences: false) where !field.isEmpty {
                    #expect(Double(field) != nil || ["nan", "inf", "-inf"].contains(field), "\(field) in the CSV for \(x)")
                }
            }
            #expect(!report.markdown.isEmpty)
            _ = try SVGElements(report.chart().svg())
        }
    }

    @Test func aLossPast9e18DoesNotStopTheProgressLine() {
        // The known crash: the progress line converted a 9.2e18 loss to Int (exit 132).
        let line = LiveProgressLine(write: { _ in }, now: { 0 }, columns: 200)
        let text = line.line(record(9.2e18), steps: 10, elapsed: 1)
        #expect(text.contains("loss 9.2000e+18"))
        #expect(line.line(record(.nan), steps: 10, elapsed: 1).contains("loss nan"))
    }

    @Test func jsonFilesHoldEveryNumber() throws {
        for x in awkwardDoubles {
            var m = ReportPageTests.metrics
            m.trainLoss = x; m.testLoss = -x; m.learnedL2 = x
            let bytes = try JSONEncoder.total().encode(m)
            let back = try JSONDecoder.total().decode(RunMetrics.self, from: bytes)
            #expect(back.trainLoss == x || (x.isNaN && back.trainLoss.isNaN))
            #expect(back.testLoss == -x || (x.isNaN && back.testLoss.isNaN))
            #expect((try? JSONSerialization.jsonObject(with: bytes)) != nil)
        }
    }
}
