import DistillRun
import Foundation
import Testing
@testable import Distill
import DistillIO
@testable import DistillCLI

/// The `src`/`href` values of `html`.
private func links(_ html: String) -> [String] {
    var values: [String] = []
    for attribute in ["src=\"", "href=\""] {
        var rest = html[...]
        while let start = rest.range(of: attribute) {
            rest = rest[start.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            values.append(String(rest[..<end]))
            rest = rest[end...]
        }
    }
    return values
}

private func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// Checks what every report must be: self-contained (no network address in
/// any src or href, no script), every data URI a PNG, and the charts drawn.
private func expectSelfContained(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(html.hasPrefix("<!DOCTYPE html>"), sourceLocation: sourceLocation)
    #expect(!html.lowercased().contains("<script"), sourceLocation: sourceLocation)
    #expect(!html.contains("http://") && !html.contains("https://"), sourceLocation: sourceLocation)
    let all = links(html)
    #expect(!all.isEmpty, sourceLocation: sourceLocation)
    for link in all {
        #expect(!link.contains("//"), "\(link.prefix(60)) is not self-contained", sourceLocation: sourceLocation)
    }
    let images = all.filter { $0.hasPrefix("data:") }
    #expect(!images.isEmpty, sourceLocation: sourceLocation)
    for uri in images {
        #expect(uri.hasPrefix("data:image/png;base64,"), sourceLocation: sourceLocation)
        let bytes = try #require(Data(base64Encoded: String(uri.dropFirst("data:image/png;base64,".count))),
                                 "a data URI is not base64", sourceLocation: sourceLocation)
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], sourceLocation: sourceLocation)
    }
    #expect(occurrences(of: "<svg", in: html) == 2, sourceLocation: sourceLocation)
    #expect(occurrences(of: "<path d=\"M", in: html) >= 1, sourceLocation: sourceLocation)
}

@Suite struct ReportPageTests {
    @Test func aRealRunWritesASelfContainedReport() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let names = scratch.path + "/names with space.txt", out = scratch.path + "/out"
        try "cat\ndog & co\n<bird>\n".write(toFile: names, atomically: true, encoding: .utf8)
        let result = try runDistill(["--data", data.path, "--out", out, "--steps", "8", "--quiet",
                                     "--eval-every", "2", "--snapshot-every", "4", "--class-names", names])
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        try expectSelfContained(html)
        // Both curves are lines: the loss over 8 steps, the accuracy at 0, 2, 4, 6, 8.
        #expect(occurrences(of: "<path d=\"M", in: html) == 2)
        #expect(occurrences(of: "<circle", in: html) == 8 + 5)
        // The grid's classes with their (escaped) names, and progress.png.
        #expect(html.contains("<figcaption>cat</figcaption>") && html.contains("<figcaption>dog &amp; co</figcaption>")
                && html.contains("<figcaption>&lt;bird&gt;</figcaption>"))
        #expect(occurrences(of: "data:image/png;base64,", in: html) == 3 + 1)
        // The command that reproduces the run, with the file name quoted.
        #expect(html.contains("--eval-every 2 --snapshot-every 4 --class-names &#39;\(names)&#39;"))
        #expect(result.stdout.contains("progress.png") && result.stdout.contains("report.html"))
    }

    @Test func withoutMeasurementsTheAccuracyIsOnePointAndANote() throws {
        let page = ReportPage(metrics: Self.metrics, history: Self.history, testAccuracy: [], classes: [Self.picture],
                              progressSheet: nil, baselines: nil, command: ["distill", "run"], files: ["distilled.png"],
                              evaluationSeconds: nil)
        let html = page.html
        try expectSelfContained(html)
        #expect(occurrences(of: "<path d=\"M", in: html) == 1)
        #expect(html.contains("--eval-every 20"))
        #expect(html.contains("<code>distill run</code>"))
        #expect(html.contains("88.09%") && html.contains("0.6292"))
    }

    @Test func baselinesAreListedBesideTheRun() throws {
        let page = ReportPage(metrics: Self.metrics, history: Self.history, testAccuracy: [], classes: [Self.picture],
                              progressSheet: nil,
                              baselines: [.init(name: "random real images", testAccuracy: 0.5, trainLoss: 1.25),
                                          .init(name: "class means", testAccuracy: 0.8, trainLoss: nil)],
                              command: ["distill"], files: [], evaluationSeconds: nil)
        let html = page.html
        #expect(html.contains("<td>random real images</td><td>50.00%</td><td>1.2500</td>"))
        #expect(html.contains("<td>class means</td><td>80.00%</td><td>–</td>"))
        #expect(html.contains("<td>distilled (this run)</td><td>88.09%</td>"))
    }

    @Test func commandsAreQuotedForTheShell() {
        #expect(ReportPage.shellCommand(["distill", "run", "--data", "/a b/c", "--out", "it's", ""])
                == "distill run --data '/a b/c' --out 'it'\\''s' ''")
        #expect(ReportPage.shellCommand([".build/release/distill", "--l2=0.01"]) == ".build/release/distill --l2=0.01")
    }

    static let picture: ReportPage.ClassPicture = {
        let bytes = (try? PNGImage(width: 2, height: 2, channels: 1, pixels: [0, 255, 255, 0]).encoded(nameForErrors: "test")) ?? []
        return ReportPage.ClassPicture(name: "0", png: bytes, width: 2, height: 2)
    }()

    static let history: [StepRecord] = (1...5).map {
        StepRecord(step: $0, trainLoss: 2.3 / Double($0), objective: 2.3 / Double($0), l2: 0.1, trainAccuracy: 0.1 * Double($0),
                   innerIterations: 3, innerGradientNorm: 1e-8, innerConverged: true, linearSolveIterations: 10, linearSolveResidual: 1e-9,
                   linearSolveConverged: true, seconds: 0.02)
    }

    static let metrics = RunMetrics(
        dataset: "data/mnist", datasetFormat: "IDX folder", model: "logistic", classes: 10,
        classNames: (0..<10).map(String.init), imageHeight: 28, imageWidth: 28, imageChannels: 1, imagesPerClass: 1, steps: 5,
        learningRate: 0.03, l2: 0.1, learnedL2: 0.1, learnLabels: false, learnL2: false, pixelRange: "none", pull: 0,
        seed: 0, initialisation: "noise", threads: 2, trainLoss: 0.6292, trainAccuracy: 0.87, testLoss: 0.6,
        testAccuracy: 0.8809, innerGradientNorm: 1e-8, innerTolerance: 1e-6, innerIterations: 3,
        seconds: 4.5, secondsPerStep: 0.02, loadSeconds: 0.15, commandLine: "distill run", version: "0.1.0",
        datasetSHA256: [:], configuration: DistillerConfiguration())
}
