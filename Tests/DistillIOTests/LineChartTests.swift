import Testing
@testable import DistillIO

@Suite struct LineChartTests {
    let magenta = LineChart.Color(200, 30, 150)

    func rgb(_ image: PNGImage, _ x: Int, _ y: Int) -> LineChart.Color {
        let p = image.pixel(x: x, y: y)
        return LineChart.Color(p[0], p[1], p[2])
    }

    /// True if `color` is at (x, y) or one pixel away (the line is 2 px thick).
    func near(_ image: PNGImage, _ x: Int, _ y: Int, _ color: LineChart.Color) -> Bool {
        (-1...1).contains { dy in (-1...1).contains { dx in rgb(image, x + dx, y + dy) == color } }
    }

    @Test func drawsTheSeriesWhereItsPointsMap() throws {
        let chart = LineChart(
            series: [LineChart.Series(name: "diagonal", points: [(0, 0), (10, 10)], color: magenta),
                     LineChart.Series(name: "flat", points: [(0, 2), (10, 2)])],
            title: "Test chart", xLabel: "step", yLabel: "value", yRange: 0...10, width: 500, height: 300)
        let image = try chart.rendered()
        #expect(image.width == 500)
        #expect(image.height == 300)
        #expect(image.channels == 3)
        let layout = try chart.layout()
        for t in [1.0, 2.5, 5, 7.5, 9] {
            let p = layout.pixel(x: t, y: t)
            #expect(near(image, p.x, p.y, magenta), "diagonal at \(t)")
        }
        // The data range spans the framed plot area, drawn in black.
        let plot = layout.plot
        #expect(abs(layout.pixel(x: 0, y: 0).x - plot.left) <= 2)
        #expect(abs(layout.pixel(x: 10, y: 0).x - (plot.right - 1)) <= 2)
        #expect(abs(layout.pixel(x: 0, y: 0).y - (plot.bottom - 1)) <= 2)
        #expect(abs(layout.pixel(x: 0, y: 10).y - plot.top) <= 2)
        #expect(rgb(image, plot.left, plot.top + plot.height / 2) == LineChart.Color(0, 0, 0))
        #expect(rgb(image, plot.left + plot.width / 2, plot.bottom - 1) == LineChart.Color(0, 0, 0))
        let off = layout.pixel(x: 2, y: 8)
        #expect(!near(image, off.x, off.y, magenta))
        let flat = layout.pixel(x: 5, y: 2)
        #expect(near(image, flat.x, flat.y, LineChart.Color.palette[1]))
        // The legend swatch, right of the plot.
        let swatch = (layout.legendLeft..<image.width).contains { x in rgb(image, x, layout.plot.top + 6) == magenta }
        #expect(swatch)
        #expect(layout.plot.right < layout.legendLeft)
        #expect(try chart.rendered() == image)
    }

    @Test func logScaleXPutsTheGeometricMeanInTheMiddle() throws {
        let chart = LineChart(series: [LineChart.Series(name: "acc", points: [(1, 0.5), (10, 0.8), (100, 0.9)])],
                              logScaleX: true, yRange: 0...1)
        let layout = try chart.layout()
        let left = layout.pixel(x: 1, y: 0).x, middle = layout.pixel(x: 10, y: 0).x, right = layout.pixel(x: 100, y: 0).x
        #expect(abs((middle - left) - (right - middle)) <= 1)
        #expect(layout.xTicks.map(\.label) == ["1", "2", "5", "10", "20", "50", "100"])
        #expect(near(try chart.rendered(), middle, layout.pixel(x: 10, y: 0.8).y, LineChart.Color.palette[0]))
    }

    @Test func ticksAndLabels() {
        #expect(LineChart.linearTicks(low: 0.03, high: 0.97, fixed: false).1.map(\.label)
                == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(LineChart.linearTicks(low: 0, high: 1000, fixed: true).1.map(\.label)
                == ["0", "200", "400", "600", "800", "1000"])
        #expect(LineChart.format(-0.05, decimals: 2) == "-0.05")
        #expect(LineChart.format(12.5, decimals: 1) == "12.5")
        #expect(LineChart.linearTicks(low: .nan, high: 1, fixed: true).1.count > 1)
    }

    @Test func tooSmallAChartThrows() {
        let chart = LineChart(series: [LineChart.Series(name: "a rather long series name", points: [(0, 0)])],
                              width: 120, height: 60)
        #expect(throws: PNGError.self) { try chart.rendered() }
    }
}
