import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import DistillIO

/// The elements of an SVG document, parsed by an XML parser (so the text
/// must be well-formed XML): name and attributes, and each text element's text.
final class SVGElements: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [(text: String, attributes: [String: String])] = []
    private var openText: [String: String]?
    private var buffer = ""

    init(_ svg: String) throws {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        guard parser.parse() else { throw SVGParseError(description: "\(parser.parserError.map(String.init(describing:)) ?? "?")") }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String]) {
        elements.append((name, attributes))
        if name == "text" { openText = attributes; buffer = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { buffer += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text", let attributes = openText { texts.append((buffer, attributes)); openText = nil }
    }

    func all(_ name: String, class className: String? = nil) -> [[String: String]] {
        elements.filter { $0.name == name && (className == nil || $0.attributes["class"] == className) }.map(\.attributes)
    }
}

struct SVGParseError: Error, CustomStringConvertible { let description: String }

func number(_ attributes: [String: String], _ key: String) -> Double { Double(attributes[key] ?? "") ?? .nan }

@Suite struct LineChartTests {
    static let sweepLike = LineChart(
        series: [LineChart.Series(name: "random real", points: [(1, 55), (2, 62), (5, 75), (10, 82)], hollow: true, dash: "7 4"),
                 LineChart.Series(name: "class means", points: [(1, 70)], pointLabel: "class means: 70.0% at 1"),
                 LineChart.Series(name: "k-means", points: [(2, 75), (5, 80), (10, 84)]),
                 LineChart.Series(name: "distilled", points: [(1, 88), (2, 90), (5, 91), (10, 92)], color: "#111111")],
        referenceLines: [LineChart.ReferenceLine(label: "all data: 92.6%", y: 92.64)],
        title: "Test accuracy against images per class", xLabel: "images per class (log scale)",
        yLabel: "test accuracy (%)", logScaleX: true)

    @Test func theSVGIsWellFormedAndHoldsEverySeriesAndLabel() throws {
        let svg = Self.sweepLike.svg()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        let parsed = try SVGElements(svg)
        let texts = parsed.texts.map(\.text)
        for label in ["Test accuracy against images per class", "images per class (log scale)", "test accuracy (%)",
                      "random real", "class means", "k-means", "distilled", "all data: 92.6%", "class means: 70.0% at 1"] {
            #expect(texts.contains(label), "\(label) missing")
        }
        // Three lines (a single point is no line), markers on every point.
        #expect(parsed.all("path", class: "series").count == 3)
        let markers = parsed.elements.filter { $0.attributes["class"] == "marker" }
        #expect(markers.count == 4 + 1 + 3 + 4)
        // Log-scale ticks at 1, 2, 5, 10, and y ticks reaching the ceiling.
        #expect(["1", "2", "5", "10"].allSatisfy(texts.contains))
        // Inline in HTML it has no namespace (and so no address).
        #expect(!Self.sweepLike.svg(standalone: false).contains("http"))
    }

    @Test func theCeilingSpansTheWholeAxisAndItsLabelIsOutsideThePlot() throws {
        let parsed = try SVGElements(Self.sweepLike.svg())
        let plot = try #require(parsed.all("rect", class: "plot").first)
        let line = try #require(parsed.all("line", class: "reference").first)
        let left = number(plot, "x"), right = left + number(plot, "width")
        #expect(number(line, "x1") == left && number(line, "x2") == right)
        let layout = Self.sweepLike.layout()
        #expect(abs(number(line, "y1") - layout.position((1, 92.64))!.y) < 0.01)
        let label = try #require(parsed.texts.first { $0.attributes["class"] == "reference-label" })
        #expect(number(label.attributes, "x") > right)
    }

    @Test func nothingIsDrawnOutsideThePictureAndTheLegendCoversNoData() throws {
        for chart in [Self.sweepLike, LineChart(series: Self.sweepLike.series, yLabel: "%", width: 420, height: 300)] {
            let parsed = try SVGElements(chart.svg())
            let layout = chart.layout()
            for text in parsed.texts where text.attributes["transform"] == nil {
                let x = number(text.attributes, "x"), y = number(text.attributes, "y")
                let width = LineChart.textWidth(text.text, size: Double(text.attributes["font-size"] ?? "") ?? 13)
                let (start, end): (Double, Double) = switch text.attributes["text-anchor"] {
                case "middle": (x - width / 2, x + width / 2)
                case "end": (x - width, x)
                default: (x, x + width)
                }
                #expect(start >= 0 && end <= Double(chart.width) && y > 0 && y <= Double(chart.height), "\(text.text) at \(x), \(y)")
            }
            // Legend entries lie below the plot's frame.
            for entry in layout.legend { #expect(entry.box.top > layout.plot.bottom) }
            // Every marker inside the frame, not on it.
            for point in chart.series.flatMap(\.points) {
                let p = try #require(layout.position(point))
                #expect(p.x > layout.plot.left + 4 && p.x < layout.plot.right - 4 && p.y > layout.plot.top + 4 && p.y < layout.plot.bottom - 4)
            }
            // The y-axis label is rotated beside the plot: below the title.
            let yLabel = try #require(parsed.texts.first { $0.attributes["class"] == "y-label" })
            #expect(yLabel.attributes["transform"]?.contains("rotate(-90)") == true)
        }
    }

    @Test func coincidingSeriesStayVisible() throws {
        let same: [(x: Double, y: Double)] = [(1, 50), (2, 60), (3, 70)]
        let chart = LineChart(series: [LineChart.Series(name: "a", points: same), LineChart.Series(name: "b", points: same)])
        let parsed = try SVGElements(chart.svg())
        let circles = parsed.all("circle", class: "marker"), squares = parsed.all("rect", class: "marker")
        #expect(circles.count == 3 && squares.count == 3)
        // The second series' markers are moved off the first's.
        for (circle, square) in zip(circles, squares) {
            #expect(abs(number(circle, "cx") - (number(square, "x") + 4)) >= 6)
        }
    }

    @Test func anyNumberGivesAWellFormedChart() throws {
        let awkward = awkwardDoubles
        for (index, x) in awkward.enumerated() {
            let chart = LineChart(series: [LineChart.Series(name: "s", points: [(0, x), (1, 1), (2, x), (Double(index), -x)]),
                                           LineChart.Series(name: "t", points: [(x, x)])],
                                  referenceLines: [LineChart.ReferenceLine(label: "r", y: x)], title: "t", xLabel: "x", yLabel: "y",
                                  logScaleX: index % 2 == 0)
            let svg = chart.svg()
            _ = try SVGElements(svg)
            #expect(!svg.contains("nan") && !svg.contains("inf"), "\(x)")
        }
        let fixed = LineChart(series: [LineChart.Series(name: "s", points: [(0, 5), (1, 500)])], yRange: 0...100, identifier: "fixed")
        #expect(fixed.svg().contains("clip-path=\"url(#fixed-plot)\""))
    }

    @Test func ticksAndLabels() {
        #expect(LineChart.linearTicks(low: 0.03, high: 0.97, fixed: false).1.map(\.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(LineChart.linearTicks(low: 0, high: 1000, fixed: true).1.map(\.label) == ["0", "200", "400", "600", "800", "1000"])
        #expect(LineChart.linearTicks(low: 0, high: 10, fixed: true).1.map(\.label) == ["0", "2", "4", "6", "8", "10"])
        #expect(LineChart.linearTicks(low: .nan, high: 1, fixed: true).1.count > 1)
        #expect(LineChart.logTicks(low: 1, high: 50).1.map(\.label) == ["1", "2", "5", "10", "20", "50"])
        #expect(LineChart.logTicks(low: 1e-300, high: 1e300).1.count <= 9)
    }
}
