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

    /// The direct labels' boxes (reference lines' and single points'), as drawn:
    /// from each text's start and baseline, `textWidth` wide, from 0.9 em above
    /// the baseline to 0.3 em below it.
    static func labelBoxes(_ parsed: SVGElements) -> [(text: String, box: LineChart.Box)] {
        parsed.texts.filter { ["reference-label", "point-label"].contains($0.attributes["class"]) }.map { text in
            let x = number(text.attributes, "x"), y = number(text.attributes, "y"), size = number(text.attributes, "font-size")
            return (text.text, LineChart.Box(left: x, top: y - 0.9 * size, right: x + LineChart.textWidth(text.text, size: size), bottom: y + 0.3 * size))
        }
    }

    /// Every drawn line's segments: the series' paths ("M x y L x y ...") and the reference lines.
    static func segments(_ parsed: SVGElements) -> [(a: (x: Double, y: Double), b: (x: Double, y: Double))] {
        var segments: [(a: (x: Double, y: Double), b: (x: Double, y: Double))] = []
        for path in parsed.all("path", class: "series") {
            let tokens = (path["d"] ?? "").replacingOccurrences(of: "M", with: " M ").replacingOccurrences(of: "L", with: " L ")
                .split(separator: " ").map(String.init)
            var last: (x: Double, y: Double)?
            var i = 0
            while i + 2 < tokens.count {
                let p = (x: Double(tokens[i + 1]) ?? .nan, y: Double(tokens[i + 2]) ?? .nan)
                if tokens[i] == "L", let last { segments.append((last, p)) }
                last = p
                i += 3
            }
        }
        for line in parsed.all("line", class: "reference") {
            segments.append(((number(line, "x1"), number(line, "y1")), (number(line, "x2"), number(line, "y2"))))
        }
        return segments
    }

    /// Whether the segment from `a` to `b` meets `box`: an end inside it, or the
    /// segment crossing one of its four sides (by the signs of cross products).
    static func crosses(_ box: LineChart.Box, _ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Bool {
        func inside(_ p: (x: Double, y: Double)) -> Bool { p.x >= box.left && p.x <= box.right && p.y >= box.top && p.y <= box.bottom }
        if inside(a) || inside(b) { return true }
        func side(_ p: (x: Double, y: Double), _ q: (x: Double, y: Double), _ r: (x: Double, y: Double)) -> Double {
            (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x)
        }
        let corners = [(x: box.left, y: box.top), (x: box.right, y: box.top), (x: box.right, y: box.bottom), (x: box.left, y: box.bottom)]
        for k in 0..<4 {
            let c = corners[k], d = corners[(k + 1) % 4]
            if side(a, b, c) * side(a, b, d) <= 0 && side(c, d, a) * side(c, d, b) <= 0 { return true }
        }
        return false
    }

    /// The reported fault: a baseline's label drawn across the distilled line.
    /// Two lines ending close together (reference lines 0.3 points apart), and
    /// single points labelled beside a line that passes where their label used
    /// to go: no two labels overlap, the margin labels are at least a text
    /// height apart, and no point label crosses a line or covers a marker.
    @Test func directLabelsNeitherOverlapNorCrossLines() throws {
        let chart = LineChart(
            series: [LineChart.Series(name: "random real", points: [(1, 47), (2, 52), (5, 70), (10, 78)], dash: "7 4"),
                     LineChart.Series(name: "class means", points: [(1, 81.5)], pointLabel: "class means (1 per class): 81.5%"),
                     LineChart.Series(name: "k-means", points: [(1, 82.2)], pointLabel: "k-means centroids (1 per class): 82.2%"),
                     LineChart.Series(name: "distilled", points: [(1, 82.0), (2, 81.6), (5, 83), (10, 84)], color: "#111111")],
            referenceLines: [LineChart.ReferenceLine(label: "all data: 92.6%", y: 92.64),
                             LineChart.ReferenceLine(label: "10000 training images: 92.9%", y: 92.9)],
            title: "Test accuracy against images per class", xLabel: "images per class (log scale)",
            yLabel: "test accuracy (%)", logScaleX: true, width: 760, height: 480)
        let parsed = try SVGElements(chart.svg())
        let labels = Self.labelBoxes(parsed)
        #expect(labels.count == 4)
        for i in labels.indices {
            for j in labels.indices where j > i {
                // (Coordinates are written to 0.01 pixel: boxes that touch may seem to overlap by that much.)
                #expect(!labels[i].box.widened(by: -0.05).overlaps(labels[j].box), "\(labels[i].text) overlaps \(labels[j].text)")
            }
        }
        // The two margin labels: a text height apart at least.
        let margin = labels.filter { $0.text.contains("all data") || $0.text.contains("10000") }.map(\.box)
        #expect(margin.count == 2 && abs(margin[0].top - margin[1].top) >= 13 * 1.2 - 1e-9)
        // The point labels cross no line and cover no marker.
        let segments = Self.segments(parsed)
        #expect(segments.count == 3 + 3 + 2)
        let markers = chart.series.flatMap(\.points).compactMap { chart.layout().position($0) }
        for label in labels where label.text.contains("per class") {
            for segment in segments { #expect(!Self.crosses(label.box, segment.a, segment.b), "\(label.text) crosses a line") }
            for m in markers { #expect(!label.box.overlaps(LineChart.Box(left: m.x - 5, top: m.y - 5, right: m.x + 5, bottom: m.y + 5)), "\(label.text)") }
            #expect(label.box.inside(chart.layout().plot))
        }
    }

    @Test func boxesSpreadApartByTheirHeight() {
        #expect(LineChart.spreadApart([10, 12, 50], height: 15, within: 0...100) == [10, 25, 50])
        #expect(LineChart.spreadApart([95, 90], height: 15, within: 0...100) == [85, 70])
        #expect(LineChart.spreadApart([40], height: 15, within: 0...100) == [40])
        #expect(LineChart.spreadApart([], height: 15, within: 0...100) == [])
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
