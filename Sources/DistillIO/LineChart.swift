#if canImport(Glibc)
import Glibc
#endif

/// A line chart of one or more named series, drawn on a white RGB canvas:
/// a framed plot area with light grid lines at the ticks, tick labels, an
/// optional title and axis labels, and a legend with colour swatches to the
/// right of the plot. Lines are 2 pixels thick; the points of short series
/// get square markers (see `markerLimit`). Text uses a built-in 5 x 7 pixel font
/// (digits, letters shown in upper case, and `. % - : + ( ) / , _ =`; any
/// other character is drawn as `?`). Rendering is deterministic.
///
/// Points with a non-finite coordinate (or x <= 0 on a log scale) are skipped
/// and break the line. Lines leaving the plot area are clipped to it.
public struct LineChart: Sendable {
    /// An sRGB colour.
    public struct Color: Sendable, Equatable {
        public var red, green, blue: UInt8
        public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
            self.red = red; self.green = green; self.blue = blue
        }
        /// The colours given to series without one, in order, then repeated
        /// (blue, orange, green, red, purple, brown, pink, grey, olive, cyan).
        public static let palette: [Color] = [
            Color(31, 119, 180), Color(255, 127, 14), Color(44, 160, 44), Color(214, 39, 40),
            Color(148, 103, 189), Color(140, 86, 75), Color(227, 119, 194), Color(127, 127, 127),
            Color(188, 189, 34), Color(23, 190, 207),
        ]
    }

    /// One polyline: its legend name, points in drawing order, and colour
    /// (`nil`: the palette colour for its position among the series).
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: Color?
        public init(name: String, points: [(x: Double, y: Double)], color: Color? = nil) {
            self.name = name; self.points = points; self.color = color
        }
    }

    public var series: [Series]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Plot x on a base-10 log scale, ticks at 1, 2, 5 x 10^k (powers of ten
    /// only if those would be more than 8).
    public var logScaleX: Bool
    /// The y range shown; `nil` rounds the data's range out to whole ticks.
    public var yRange: ClosedRange<Double>?
    /// Series with at most this many points get a 5 x 5 square marker on
    /// each point; longer ones (loss curves) are plain lines. 0: no markers.
    public var markerLimit: Int
    /// The image size in pixels.
    public var width: Int, height: Int

    public init(series: [Series], title: String = "", xLabel: String = "", yLabel: String = "",
                logScaleX: Bool = false, yRange: ClosedRange<Double>? = nil, markerLimit: Int = 40,
                width: Int = 640, height: Int = 400) {
        self.series = series; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
        self.logScaleX = logScaleX; self.yRange = yRange; self.markerLimit = markerLimit
        self.width = width; self.height = height
    }

    /// Draws the chart as a `width` x `height` RGB image. Throws
    /// `PNGError.invalidImage` if the size is invalid or leaves no room for
    /// the plot area beside the labels and legend.
    public func rendered() throws(PNGError) -> PNGImage {
        let layout = try self.layout()
        var canvas = Canvas(width: width, height: height)
        let black = Color(0, 0, 0), plot = layout.plot
        for tick in layout.xTicks {
            let x = layout.pixel(x: tick.value, y: layout.yAxis.low).x
            canvas.fill(x: x, y: plot.top, width: 1, height: plot.height, Color(225, 225, 225))
            canvas.fill(x: x, y: plot.bottom, width: 1, height: 5, black)
            canvas.text(tick.label, centredAt: x, top: plot.bottom + 8, black)
        }
        for tick in layout.yTicks {
            let y = layout.pixel(x: layout.xAxis.low, y: tick.value).y
            canvas.fill(x: plot.left, y: y, width: plot.width, height: 1, Color(225, 225, 225))
            canvas.fill(x: plot.left - 5, y: y, width: 5, height: 1, black)
            canvas.text(tick.label, rightAt: plot.left - 8, top: y - Font.height / 2, black)
        }
        canvas.frame(plot, black)
        canvas.text(title, centredAt: width / 2, top: 8, black)
        canvas.text(yLabel, leftAt: plot.left, top: plot.top - Font.lineHeight, black)
        canvas.text(xLabel, centredAt: plot.left + plot.width / 2,
                    top: plot.bottom + 8 + Font.lineHeight, black)

        let inside = plot.inset(by: 1)
        for (index, series) in series.enumerated() {
            let seriesColor = color(of: index)
            let markers = series.points.count <= markerLimit
            var previous: (x: Double, y: Double)?
            for point in series.points {
                guard let current = layout.position(point) else { previous = nil; continue }
                if let previous { canvas.line(from: previous, to: current, clip: inside, seriesColor) }
                if markers, inside.contains(current) {
                    canvas.fill(x: Int(current.x) - 2, y: Int(current.y) - 2, width: 5, height: 5, seriesColor, clip: inside)
                }
                previous = current
            }
            let top = plot.top + index * Font.lineHeight
            canvas.fill(x: layout.legendLeft, y: top + 2, width: 20, height: 10, seriesColor)
            canvas.text(series.name, leftAt: layout.legendLeft + 28, top: top, black)
        }
        return try PNGImage(width: width, height: height, channels: 3, pixels: canvas.pixels)
    }

    func color(of index: Int) -> Color {
        series[index].color ?? Color.palette[index % Color.palette.count]
    }

    // MARK: Layout

    struct Rect {
        var left, top, width, height: Int
        var right: Int { left + width }
        var bottom: Int { top + height }
        func inset(by d: Int) -> Rect { Rect(left: left + d, top: top + d, width: width - 2 * d, height: height - 2 * d) }
        func contains(_ p: (x: Double, y: Double)) -> Bool {
            p.x >= Double(left) && p.x < Double(right) && p.y >= Double(top) && p.y < Double(bottom)
        }
    }

    struct Axis {
        var low: Double, high: Double, log: Bool
        func fraction(_ v: Double) -> Double {
            log ? (v.log10 - low.log10) / (high.log10 - low.log10) : (v - low) / (high - low)
        }
    }

    /// Where everything goes, computed from the data and the image size.
    struct Layout {
        var plot: Rect, legendLeft: Int
        var xAxis: Axis, yAxis: Axis
        var xTicks: [(value: Double, label: String)], yTicks: [(value: Double, label: String)]

        /// The pixel centre of a data point (possibly outside the plot).
        func pixel(x: Double, y: Double) -> (x: Int, y: Int) {
            let p = position((x, y)) ?? (0, 0)
            return (Int(p.x), Int(p.y))
        }

        /// Canvas coordinates of a data point, or nil if it cannot be drawn.
        func position(_ point: (x: Double, y: Double)) -> (x: Double, y: Double)? {
            guard point.x.isFinite, point.y.isFinite, !xAxis.log || point.x > 0 else { return nil }
            let x = Double(plot.left + 1) + xAxis.fraction(point.x) * Double(plot.width - 3)
            let y = Double(plot.bottom - 2) - yAxis.fraction(point.y) * Double(plot.height - 3)
            // Far-away points only need the right direction for clipping.
            return (min(max(x, -1e7), 1e7).rounded(), min(max(y, -1e7), 1e7).rounded())
        }
    }

    func layout() throws(PNGError) -> Layout {
        _ = try PNGImage.byteCount(width: width, height: height, channels: 3)
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logScaleX || $0.x > 0) }
        let xs = points.map(\.x), ys = points.map(\.y)
        let (xAxis, xTicks) = logScaleX
            ? LineChart.logTicks(low: xs.min() ?? 1, high: xs.max() ?? 10)
            : LineChart.linearTicks(low: xs.min() ?? 0, high: xs.max() ?? 1, fixed: false)
        let (yAxis, yTicks) = yRange.map { LineChart.linearTicks(low: $0.lowerBound, high: $0.upperBound, fixed: true) }
            ?? LineChart.linearTicks(low: ys.min() ?? 0, high: ys.max() ?? 1, fixed: false)

        let labelWidth = yTicks.map { Font.width(of: $0.label) }.max() ?? 0
        let legendWidth = series.map { 28 + Font.width(of: $0.name) }.max() ?? 0
        let left = 10 + labelWidth + 8
        let top = 8 + (title.isEmpty ? 0 : Font.lineHeight) + (yLabel.isEmpty ? 4 : Font.lineHeight)
        let right = width - 10 - (legendWidth > 0 ? legendWidth + 16 : 0)
        let bottom = height - 8 - Font.lineHeight - (xLabel.isEmpty ? 0 : Font.lineHeight)
        guard right - left >= 40, bottom - top >= 40 else {
            throw .invalidImage("chart of \(width) x \(height) pixels leaves no room for the plot beside its labels")
        }
        return Layout(plot: Rect(left: left, top: top, width: right - left, height: bottom - top),
                      legendLeft: right + 16, xAxis: xAxis, yAxis: yAxis, xTicks: xTicks, yTicks: yTicks)
    }

    /// Ticks at multiples of a 1-2-5 step giving about 5 intervals; unless
    /// `fixed`, the range is widened to whole steps.
    static func linearTicks(low: Double, high: Double, fixed: Bool) -> (Axis, [(value: Double, label: String)]) {
        var low = low, high = high
        if !(high - low).isFinite { (low, high) = (0, 1) }  // infinite or NaN bounds
        if !(high > low) { (low, high) = (low - 1, high + 1) }  // one value, or an empty range
        let raw = (high - low) / 5
        let magnitude = (raw.log10).rounded(.down)
        let f = raw / Double.pow10(magnitude)
        let step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * Double.pow10(magnitude)
        if !fixed { (low, high) = ((low / step).rounded(.down) * step, (high / step).rounded(.up) * step) }
        let decimals = max(0, -Int(step.log10.rounded(.down)))
        let first = (low / step - 1e-9).rounded(.up), last = (high / step + 1e-9).rounded(.down)
        guard last - first < 20 else {  // steps lost in floating-point precision
            return (Axis(low: low, high: high, log: false), [(low, "\(low)"), (high, "\(high)")])
        }
        let ticks = stride(from: first, through: last, by: 1).map { k in
            (value: k * step, label: format(k * step, decimals: decimals))
        }
        return (Axis(low: low, high: high, log: false), ticks)
    }

    /// Ticks at 1, 2, 5 x 10^k inside [low, high] (only 10^k if that gives
    /// more than 8); the range is exactly the data's.
    static func logTicks(low: Double, high: Double) -> (Axis, [(value: Double, label: String)]) {
        var low = low, high = high
        if !(high > low) { (low, high) = (low / 2, high * 2) }
        let first = Int(low.log10.rounded(.down)), last = Int(high.log10.rounded(.up))
        func ticks(_ mantissas: [Double]) -> [(value: Double, label: String)] {
            var ticks: [(value: Double, label: String)] = []
            for e in first...last {
                for m in mantissas {
                    let value = m * Double.pow10(Double(e))
                    if value >= low * (1 - 1e-9) && value <= high * (1 + 1e-9) {
                        ticks.append((value, format(value, decimals: max(0, -e))))
                    }
                }
            }
            return ticks
        }
        let dense = ticks([1, 2, 5])
        return (Axis(low: low, high: high, log: true), dense.count > 8 ? ticks([1]) : dense)
    }

    /// `value` with a fixed number of decimals, without Foundation.
    static func format(_ value: Double, decimals: Int) -> String {
        let scaled = (value * Double.pow10(Double(decimals))).rounded()
        guard scaled.magnitude < 1e15 else { return "\(value)" }
        let digits = String(Int(scaled.magnitude))
        let sign = scaled < 0 ? "-" : ""
        guard decimals > 0 else { return sign + digits }
        let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
        return sign + padded.dropLast(decimals) + "." + padded.suffix(decimals)
    }
}

private extension Double {
    var log10: Double { Glibc.log10(self) }
    static func pow10(_ e: Double) -> Double { Glibc.pow(10, e) }
}

// MARK: Drawing

/// An RGB pixel buffer with the few drawing operations the chart needs.
private struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ c: LineChart.Color) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.red; pixels[i + 1] = c.green; pixels[i + 2] = c.blue
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: LineChart.Color, clip: LineChart.Rect? = nil) {
        for py in y..<y + max(0, h) {
            for px in x..<x + max(0, w) where clip?.contains((Double(px), Double(py))) ?? true {
                set(px, py, c)
            }
        }
    }

    mutating func frame(_ r: LineChart.Rect, _ c: LineChart.Color) {
        fill(x: r.left, y: r.top, width: r.width, height: 1, c)
        fill(x: r.left, y: r.bottom - 1, width: r.width, height: 1, c)
        fill(x: r.left, y: r.top, width: 1, height: r.height, c)
        fill(x: r.right - 1, y: r.top, width: 1, height: r.height, c)
    }

    /// A 2-pixel-thick line: the segment is clipped to `clip` (Liang-Barsky),
    /// then drawn with Bresenham's algorithm and a 2 x 2 brush.
    mutating func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double),
                       clip: LineChart.Rect, _ c: LineChart.Color) {
        let dx = b.x - a.x, dy = b.y - a.y
        var t0 = 0.0, t1 = 1.0
        let edges = [(-dx, a.x - Double(clip.left)), (dx, Double(clip.right - 2) - a.x),
                     (-dy, a.y - Double(clip.top)), (dy, Double(clip.bottom - 2) - a.y)]
        for (p, q) in edges {
            if p == 0 { if q < 0 { return }; continue }
            let t = q / p
            if p < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
            if t0 > t1 { return }
        }
        var x = Int((a.x + t0 * dx).rounded()), y = Int((a.y + t0 * dy).rounded())
        let x1 = Int((a.x + t1 * dx).rounded()), y1 = Int((a.y + t1 * dy).rounded())
        let sx = x < x1 ? 1 : -1, sy = y < y1 ? 1 : -1
        let ex = abs(x1 - x), ey = -abs(y1 - y)
        var error = ex + ey
        while true {
            fill(x: x, y: y, width: 2, height: 2, c, clip: clip)
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= ey { error += ey; x += sx }
            if e2 <= ex { error += ex; y += sy }
        }
    }

    mutating func text(_ s: String, leftAt left: Int, top: Int, _ c: LineChart.Color) {
        for (i, character) in s.enumerated() {
            let rows = Font.glyph(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    let x = left + i * Font.advance + column * Font.scale, y = top + row * Font.scale
                    fill(x: x, y: y, width: Font.scale, height: Font.scale, c)
                }
            }
        }
    }

    mutating func text(_ s: String, centredAt x: Int, top: Int, _ c: LineChart.Color) {
        text(s, leftAt: x - Font.width(of: s) / 2, top: top, c)
    }

    mutating func text(_ s: String, rightAt x: Int, top: Int, _ c: LineChart.Color) {
        text(s, leftAt: x - Font.width(of: s), top: top, c)
    }
}

/// A 5 x 7 bitmap font drawn at twice its size. Each glyph is 7 rows, top
/// first; bit 4 of a row is its leftmost pixel.
enum Font {
    static let scale = 2
    static let advance = 6 * scale
    static let height = 7 * scale
    static let lineHeight = 10 * scale

    static func width(of s: String) -> Int { s.isEmpty ? 0 : s.count * advance - scale }

    static func glyph(_ c: Character) -> [UInt8] {
        c.uppercased().first.flatMap { glyphs[$0] } ?? glyphs["?"] ?? []
    }

    static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "A": [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C], "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        " ": [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], "+": [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02], ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        "/": [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00], ",": [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        "_": [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F], "=": [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        "?": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    ]
}
