#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line chart as SVG text with real text: a framed plot with light grid
/// lines at round ticks, tick labels, axis labels (with their units, as the
/// caller writes them), an optional title, the series as lines with markers,
/// labelled horizontal reference lines (a ceiling) across the whole plot, and
/// a legend below the plot, where it never covers data (the series drawn
/// last listed first).
///
/// Every series stays visible where series coincide: each has its own
/// marker shape and dash pattern, markers of later series that would land on
/// an earlier one's are moved sideways by a few pixels, and series are drawn
/// in the order given (put the most important last). A series with a single
/// point (a baseline that exists at one size) is drawn as a marker with its
/// label near it. Direct labels never overlap one another: reference lines'
/// labels sit in the right margin at their line's height, nudged apart by a
/// text height at least when lines lie close together; a single point's label
/// goes to the nearest place inside the frame that crosses no line and covers
/// no marker or other label. Nothing is drawn outside the picture: margins are
/// computed from the text's estimated width (`textWidth`), and data is kept
/// `padding` pixels inside the frame.
///
/// Points with a non-finite coordinate (or x <= 0 on a log scale) are skipped
/// and break the line; points outside a fixed `yRange` are clipped at the
/// frame. All numbers are written with `NumberText`, so any Double gives a
/// well-formed picture. Rendering is deterministic.
public struct LineChart: Sendable {
    /// The shape drawn at each point of a series.
    public enum Marker: String, Sendable, CaseIterable {
        case circle, square, diamond, triangle, none
    }

    /// One polyline.
    public struct Series: Sendable {
        /// The legend text.
        public var name: String
        /// The points in drawing order (data coordinates).
        public var points: [(x: Double, y: Double)]
        /// A CSS colour; `nil`: the palette colour for the series' position.
        public var color: String?
        /// `nil`: the marker for the series' position (circle, square, diamond, triangle, ...).
        public var marker: Marker?
        /// Markers drawn as outlines on white (so a filled marker beneath shows through).
        public var hollow: Bool
        /// An SVG `stroke-dasharray` such as `"6 4"`; `nil`: solid.
        public var dash: String?
        /// The text beside the point when the series has a single point; `nil`: `name`.
        public var pointLabel: String?

        public init(name: String, points: [(x: Double, y: Double)], color: String? = nil, marker: Marker? = nil,
                    hollow: Bool = false, dash: String? = nil, pointLabel: String? = nil) {
            self.name = name; self.points = points; self.color = color; self.marker = marker
            self.hollow = hollow; self.dash = dash; self.pointLabel = pointLabel
        }
    }

    /// A horizontal line at `y` across the whole plot, labelled in the right
    /// margin at its height, moved up or down off the labels of lines close to
    /// it (for a ceiling such as the full-data accuracy).
    public struct ReferenceLine: Sendable {
        public var label: String
        public var y: Double
        public var color: String
        public init(label: String, y: Double, color: String = "#555555") {
            self.label = label; self.y = y; self.color = color
        }
    }

    /// The colours given to series without one, in order, then repeated
    /// (blue, orange, green, red, purple, brown, pink, grey, olive, cyan).
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    static let markerCycle: [Marker] = [.circle, .square, .diamond, .triangle]

    public var series: [Series]
    public var referenceLines: [ReferenceLine]
    public var title: String
    /// The x-axis label, with its unit: "images per class (log scale)".
    public var xLabel: String
    /// The y-axis label, with its unit: "test accuracy (%)".
    public var yLabel: String
    /// Plot x on a base-10 log scale, ticks at 1, 2, 5 x 10^k (powers of ten
    /// only if those would be more than 8).
    public var logScaleX: Bool
    /// The y range shown; `nil` rounds the range of the data and reference lines out to whole ticks.
    public var yRange: ClosedRange<Double>?
    /// Series with at most this many points get markers; longer ones (loss curves) are plain lines.
    public var markerLimit: Int
    /// The picture's size in pixels (the SVG's viewBox).
    public var width: Int, height: Int
    /// Prefixes the SVG's element ids, which must be unique on an HTML page holding several charts.
    public var identifier: String

    public init(series: [Series], referenceLines: [ReferenceLine] = [], title: String = "", xLabel: String = "",
                yLabel: String = "", logScaleX: Bool = false, yRange: ClosedRange<Double>? = nil,
                markerLimit: Int = 40, width: Int = 720, height: Int = 440, identifier: String = "chart") {
        self.series = series; self.referenceLines = referenceLines; self.title = title
        self.xLabel = xLabel; self.yLabel = yLabel; self.logScaleX = logScaleX; self.yRange = yRange
        self.markerLimit = markerLimit; self.width = width; self.height = height; self.identifier = identifier
    }

    // MARK: Sizes

    static let tickFont = 12.0, labelFont = 13.0, titleFont = 16.0
    /// Pixels between the frame and the outermost data.
    static let padding = 12.0
    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    /// An upper estimate of the width of `text` in a sans-serif font of
    /// `size` pixels (0.62 em a character; DejaVu Sans, the widest common
    /// one, averages about 0.6 em on digits and lower-case letters).
    public static func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * 0.62 * size
    }

    func color(of index: Int) -> String { series[index].color ?? Self.palette[index % Self.palette.count] }
    func marker(of index: Int) -> Marker { series[index].marker ?? Self.markerCycle[index % Self.markerCycle.count] }

    // MARK: Layout

    /// A rectangle in picture coordinates (pixels, y down).
    public struct Box: Sendable, Equatable {
        public var left, top, right, bottom: Double
        public var width: Double { right - left }
        public var height: Double { bottom - top }
        func overlaps(_ other: Box) -> Bool {
            left < other.right && other.left < right && top < other.bottom && other.top < bottom
        }
        func inside(_ other: Box) -> Bool {
            left >= other.left && right <= other.right && top >= other.top && bottom <= other.bottom
        }
        func widened(by d: Double) -> Box { Box(left: left - d, top: top - d, right: right + d, bottom: bottom + d) }
        /// Whether the segment from `a` to `b` passes through the box (Liang-Barsky clipping).
        func crosses(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Bool {
            var t0 = 0.0, t1 = 1.0
            let dx = b.x - a.x, dy = b.y - a.y
            for (p, q) in [(-dx, a.x - left), (dx, right - a.x), (-dy, a.y - top), (dy, bottom - a.y)] {
                if p == 0 {
                    if q < 0 { return false }
                    continue
                }
                let r = q / p
                if p < 0 { if r > t1 { return false }; t0 = max(t0, r) } else { if r < t0 { return false }; t1 = min(t1, r) }
            }
            return t0 <= t1
        }
    }

    struct Axis {
        var low: Double, high: Double, log: Bool
        /// Where `v` lies between low (0) and high (1).
        func fraction(_ v: Double) -> Double {
            let f = log ? (log10(v) - log10(low)) / (log10(high) - log10(low)) : (v - low) / (high - low)
            return f.isFinite ? f : (f.isNaN ? 0.5 : f)
        }
    }

    /// Where everything goes.
    public struct Layout {
        /// The frame of the plot area.
        public var plot: Box
        var xAxis: Axis, yAxis: Axis
        public var xTicks: [(value: Double, label: String)], yTicks: [(value: Double, label: String)]
        /// The legend's entries: series index and the box of the entry.
        var legend: [(index: Int, box: Box)]

        /// Picture coordinates of a data point (possibly outside the plot), or nil if it cannot be drawn.
        public func position(_ point: (x: Double, y: Double)) -> (x: Double, y: Double)? {
            guard point.x.isFinite, point.y.isFinite, !xAxis.log || point.x > 0 else { return nil }
            let pad = LineChart.padding
            let x = plot.left + pad + xAxis.fraction(point.x) * (plot.width - 2 * pad)
            let y = plot.bottom - pad - yAxis.fraction(point.y) * (plot.height - 2 * pad)
            return (min(max(x, -1e6), 1e6), min(max(y, -1e6), 1e6))
        }
    }

    /// The legend lists the series drawn last (on top, the most important) first.
    var legendEntries: [Int] { series.indices.reversed().filter { !series[$0].name.isEmpty } }

    /// The layout, computed from the data, the text and the picture's size.
    public func layout() -> Layout {
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logScaleX || $0.x > 0) }
        let xs = points.map(\.x)
        let ys = points.map(\.y) + referenceLines.map(\.y).filter(\.isFinite)
        let (xAxis, xTicks) = logScaleX
            ? Self.logTicks(low: xs.min() ?? 1, high: xs.max() ?? 10)
            : Self.linearTicks(low: xs.min() ?? 0, high: xs.max() ?? 1, fixed: false)
        let (yAxis, yTicks) = yRange.map { Self.linearTicks(low: $0.lowerBound, high: $0.upperBound, fixed: true) }
            ?? Self.linearTicks(low: ys.min() ?? 0, high: ys.max() ?? 1, fixed: false)

        let w = Double(width), h = Double(height), margin = 10.0
        let tickLabelWidth = yTicks.map { Self.textWidth($0.label, size: Self.tickFont) }.max() ?? 0
        let left = margin + (yLabel.isEmpty ? 0 : Self.labelFont * 1.4) + tickLabelWidth + 10
        let top = margin + (title.isEmpty ? 0 : Self.titleFont * 1.6)
        let referenceWidth = referenceLines.map { Self.textWidth($0.label, size: Self.labelFont) }.max() ?? 0
        // The last x tick label is centred on the frame's right edge at most: half of it must fit.
        let lastTick = xTicks.last.map { Self.textWidth($0.label, size: Self.tickFont) / 2 } ?? 0
        let right = w - margin - max(referenceWidth > 0 ? referenceWidth + 8 : 0, lastTick, 6)

        // The legend below the x-axis label, wrapped into rows as wide as the picture allows.
        var legend: [(index: Int, box: Box)] = []
        let entries = legendEntries.count >= 2 ? legendEntries : []
        let rowHeight = 20.0, sample = 34.0, gap = 20.0
        var x = left, row = 0
        for index in entries {
            let entryWidth = sample + 6 + Self.textWidth(series[index].name, size: Self.labelFont)
            if x > left, x + entryWidth > w - margin { row += 1; x = left }
            legend.append((index, Box(left: x, top: Double(row) * rowHeight, right: x + entryWidth, bottom: Double(row + 1) * rowHeight)))
            x += entryWidth + gap
        }
        let legendHeight = entries.isEmpty ? 0 : Double(row + 1) * rowHeight + 6
        let bottom = h - margin - legendHeight - (xLabel.isEmpty ? 0 : Self.labelFont * 1.6) - Self.tickFont * 1.7
        let plot = Box(left: left, top: top, right: max(left + 1, right), bottom: max(top + 1, bottom))
        // Legend rows start under the x-axis label.
        let legendTop = h - margin - legendHeight + 6
        legend = legend.map { ($0.index, Box(left: $0.box.left, top: $0.box.top + legendTop, right: $0.box.right, bottom: $0.box.bottom + legendTop)) }
        return Layout(plot: plot, xAxis: xAxis, yAxis: yAxis, xTicks: xTicks, yTicks: yTicks, legend: legend)
    }

    // MARK: Drawing

    /// The chart as an SVG document (`standalone`, with the XML namespace,
    /// for a .svg file) or as an `<svg>` element to put inline in HTML.
    public func svg(standalone: Bool = true) -> String {
        let layout = self.layout(), plot = layout.plot
        let n = { (v: Double) in NumberText.coordinate(v) }
        var s = "<svg " + (standalone ? "xmlns=\"http://www.w3.org/2000/svg\" " : "")
        s += "viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" font-family=\"\(Self.fontFamily)\" role=\"img\""
        s += " aria-label=\"\(Self.escaped(title.isEmpty ? yLabel + " against " + xLabel : title))\">\n"
        s += "<rect class=\"background\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        if !title.isEmpty {
            s += "<text class=\"title\" x=\"\(n(Double(width) / 2))\" y=\"\(n(10 + Self.titleFont))\" text-anchor=\"middle\" font-size=\"\(n(Self.titleFont))\" font-weight=\"bold\" fill=\"#222\">\(Self.escaped(title))</text>\n"
        }
        // Grid lines and ticks.
        s += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n"
        for tick in layout.xTicks {
            guard let x = layout.position((tick.value, layout.yAxis.low))?.x else { continue }
            s += "<line x1=\"\(n(x))\" y1=\"\(n(plot.top))\" x2=\"\(n(x))\" y2=\"\(n(plot.bottom))\"/>"
        }
        for tick in layout.yTicks {
            guard let y = layout.position((layout.xAxis.low, tick.value))?.y else { continue }
            s += "<line x1=\"\(n(plot.left))\" y1=\"\(n(y))\" x2=\"\(n(plot.right))\" y2=\"\(n(y))\"/>"
        }
        s += "\n</g>\n<g class=\"ticks\" font-size=\"\(n(Self.tickFont))\" fill=\"#444\">\n"
        for tick in layout.xTicks {
            guard let x = layout.position((tick.value, layout.yAxis.low))?.x else { continue }
            s += "<line x1=\"\(n(x))\" y1=\"\(n(plot.bottom))\" x2=\"\(n(x))\" y2=\"\(n(plot.bottom + 5))\" stroke=\"#444\"/>"
            s += "<text x=\"\(n(x))\" y=\"\(n(plot.bottom + 6 + Self.tickFont))\" text-anchor=\"middle\">\(Self.escaped(tick.label))</text>\n"
        }
        for tick in layout.yTicks {
            guard let y = layout.position((layout.xAxis.low, tick.value))?.y else { continue }
            s += "<line x1=\"\(n(plot.left - 5))\" y1=\"\(n(y))\" x2=\"\(n(plot.left))\" y2=\"\(n(y))\" stroke=\"#444\"/>"
            s += "<text x=\"\(n(plot.left - 8))\" y=\"\(n(y + Self.tickFont * 0.35))\" text-anchor=\"end\">\(Self.escaped(tick.label))</text>\n"
        }
        s += "</g>\n"
        s += "<rect class=\"plot\" x=\"\(n(plot.left))\" y=\"\(n(plot.top))\" width=\"\(n(plot.width))\" height=\"\(n(plot.height))\" fill=\"none\" stroke=\"#888\"/>\n"
        if !xLabel.isEmpty {
            s += "<text class=\"x-label\" x=\"\(n((plot.left + plot.right) / 2))\" y=\"\(n(plot.bottom + Self.tickFont * 1.7 + Self.labelFont * 1.2))\" text-anchor=\"middle\" font-size=\"\(n(Self.labelFont))\" fill=\"#222\">\(Self.escaped(xLabel))</text>\n"
        }
        if !yLabel.isEmpty {
            // Rotated, centred on the plot's height: it never reaches the title above the frame.
            s += "<text class=\"y-label\" transform=\"translate(\(n(10 + Self.labelFont)) \(n((plot.top + plot.bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"\(n(Self.labelFont))\" fill=\"#222\">\(Self.escaped(yLabel))</text>\n"
        }

        // Data, clipped to the frame.
        let clip = identifier + "-plot"
        s += "<defs><clipPath id=\"\(clip)\"><rect x=\"\(n(plot.left))\" y=\"\(n(plot.top))\" width=\"\(n(plot.width))\" height=\"\(n(plot.height))\"/></clipPath></defs>\n"
        s += "<g clip-path=\"url(#\(clip))\">\n"
        var labels: [Box] = []  // text already placed, to keep direct labels apart
        for line in referenceLines where line.y.isFinite {
            guard let y = layout.position((layout.xAxis.low, line.y))?.y else { continue }
            s += "<line class=\"reference\" x1=\"\(n(plot.left))\" y1=\"\(n(y))\" x2=\"\(n(plot.right))\" y2=\"\(n(y))\" stroke=\"\(line.color)\" stroke-width=\"1.5\" stroke-dasharray=\"8 4\"/>\n"
        }
        var placed: [(x: Double, y: Double)] = []  // markers already drawn, for dodging
        // Every drawn line's segments (series and reference lines), which direct labels must not cross.
        var segments: [(a: (x: Double, y: Double), b: (x: Double, y: Double))] = []
        for line in referenceLines where line.y.isFinite {
            guard let y = layout.position((layout.xAxis.low, line.y))?.y else { continue }
            segments.append(((plot.left, y), (plot.right, y)))
        }
        var markers = ""
        var pointLabels: [(text: String, x: Double, y: Double, color: String)] = []
        for index in series.indices {
            let entry = series[index], color = color(of: index)
            var path = "", pen = false
            var positions: [(x: Double, y: Double)] = []
            for point in entry.points {
                guard let p = layout.position(point) else { pen = false; continue }
                path += (pen ? " L" : (path.isEmpty ? "M" : " M")) + "\(n(p.x)) \(n(p.y))"
                if pen, let last = positions.last { segments.append((last, p)) }
                pen = true
                positions.append(p)
            }
            if positions.count >= 2 {
                s += "<path class=\"series\" data-series=\"\(Self.escaped(entry.name))\" d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" stroke-linejoin=\"round\""
                    + (entry.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>\n"
            }
            guard positions.count <= markerLimit else { continue }
            for p in positions {
                // Moved sideways, a few pixels at a time, off markers already drawn.
                var x = p.x
                for _ in 0..<4 where placed.contains(where: { abs($0.x - x) < 7 && abs($0.y - p.y) < 7 }) { x += 7 }
                placed.append((x, p.y))
                markers += Self.markerElement(marker(of: index), x: x, y: p.y, color: color, hollow: entry.hollow, name: entry.name)
            }
            if positions.count == 1, let p = placed.last {
                pointLabels.append((entry.pointLabel ?? entry.name, p.x, p.y, color))
            }
        }
        s += markers + "</g>\n"

        // Reference lines' labels in the right margin, at their height, nudged
        // apart (a text height at least between two) when lines lie close together.
        let textHeight = Self.labelFont * 1.2
        var marginLabels: [(text: String, y: Double, color: String)] = []
        for line in referenceLines where line.y.isFinite {
            guard let y = layout.position((layout.xAxis.low, line.y))?.y, y >= plot.top, y <= plot.bottom else { continue }
            marginLabels.append((line.label, y, line.color))
        }
        let tops = Self.spreadApart(marginLabels.map { $0.y - textHeight / 2 }, height: textHeight, within: (plot.top - textHeight / 2)...(plot.bottom + textHeight / 2))
        for (label, top) in zip(marginLabels, tops) {
            let box = Box(left: plot.right + 6, top: top, right: plot.right + 6 + Self.textWidth(label.text, size: Self.labelFont), bottom: top + textHeight)
            labels.append(box)
            s += "<text class=\"reference-label\" x=\"\(n(box.left))\" y=\"\(n(box.bottom - textHeight * 0.25))\" font-size=\"\(n(Self.labelFont))\" fill=\"\(label.color)\">\(Self.escaped(label.text))</text>\n"
        }
        // Single points' labels beside them, inside the frame, off other labels,
        // markers and lines: the nearest free place (beside, above or below the
        // point, then further up or down); if there is none, the one crossing least.
        let markerBoxes = placed.map { Box(left: $0.x - 6, top: $0.y - 6, right: $0.x + 6, bottom: $0.y + 6) }
        for label in pointLabels {
            let textWidth = Self.textWidth(label.text, size: Self.labelFont)
            var candidates: [(dx: Double, dy: Double)] = [(9, 0), (-9 - textWidth, 0), (9, -textHeight), (9, textHeight),
                                                          (-9 - textWidth, -textHeight), (-9 - textWidth, textHeight),
                                                          (-textWidth / 2, -textHeight - 4), (-textWidth / 2, textHeight + 4)]
            var step = 1.5
            while step * textHeight / 2 <= plot.height {
                for dx in [9, -9 - textWidth, -textWidth / 2] {
                    candidates += [(dx, -step * textHeight / 2), (dx, step * textHeight / 2)]
                }
                step += 1
            }
            let boxes = candidates.map { c in
                Box(left: label.x + c.dx, top: label.y + c.dy - textHeight / 2, right: label.x + c.dx + textWidth, bottom: label.y + c.dy + textHeight / 2)
            }
            let fits = boxes.filter { $0.inside(plot) }
            func clearOfLabels(_ b: Box) -> Bool { !labels.contains { $0.overlaps(b) } }
            func clearOfMarkers(_ b: Box) -> Bool { !markerBoxes.contains { $0.overlaps(b) } }
            func crossings(_ b: Box) -> Int { segments.filter { b.widened(by: 2).crosses($0.a, $0.b) }.count }
            let box = fits.first { clearOfLabels($0) && clearOfMarkers($0) && crossings($0) == 0 }
                ?? fits.filter { clearOfLabels($0) && clearOfMarkers($0) }.min { crossings($0) < crossings($1) }
                ?? fits.first(where: clearOfLabels) ?? fits.first ?? boxes[0]
            labels.append(box)
            s += "<text class=\"point-label\" x=\"\(n(box.left))\" y=\"\(n(box.bottom - textHeight * 0.25))\" font-size=\"\(n(Self.labelFont))\" fill=\"\(label.color)\">\(Self.escaped(label.text))</text>\n"
        }

        // The legend: a sample of each series' line and marker, then its name.
        if !layout.legend.isEmpty {
            s += "<g class=\"legend\" font-size=\"\(n(Self.labelFont))\" fill=\"#222\">\n"
            for (index, box) in layout.legend {
                let entry = series[index], color = color(of: index), y = (box.top + box.bottom) / 2
                s += "<line x1=\"\(n(box.left))\" y1=\"\(n(y))\" x2=\"\(n(box.left + 34))\" y2=\"\(n(y))\" stroke=\"\(color)\" stroke-width=\"2\""
                    + (entry.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>"
                s += Self.markerElement(marker(of: index), x: box.left + 17, y: y, color: color, hollow: entry.hollow, name: nil)
                s += "<text x=\"\(n(box.left + 40))\" y=\"\(n(y + Self.labelFont * 0.35))\">\(Self.escaped(entry.name))</text>\n"
            }
            s += "</g>\n"
        }
        return s + "</svg>\n"
    }

    /// The tops of boxes `height` tall wanted at `tops`, moved as little as
    /// this does so that no two overlap: in order from the top, each at least
    /// `height` below the one above; then, if the last passes the range's
    /// bottom, pushed up (each at least `height` above the next). Returned in
    /// the order given. (Only more boxes than the range holds pass its top.)
    static func spreadApart(_ tops: [Double], height: Double, within range: ClosedRange<Double>) -> [Double] {
        let order = tops.indices.sorted { tops[$0] < tops[$1] }
        var placed = order.map { tops[$0] }
        for i in placed.indices.dropFirst() { placed[i] = max(placed[i], placed[i - 1] + height) }
        if let last = placed.last, last + height > range.upperBound {
            placed[placed.count - 1] = range.upperBound - height
            for i in placed.indices.dropLast().reversed() { placed[i] = min(placed[i], placed[i + 1] - height) }
        }
        var result = tops
        for (k, index) in order.enumerated() { result[index] = placed[k] }
        return result
    }

    /// One marker centred on (x, y), with a tooltip naming the series.
    static func markerElement(_ marker: Marker, x: Double, y: Double, color: String, hollow: Bool, name: String?) -> String {
        let n = { (v: Double) in NumberText.coordinate(v) }
        let paint = hollow ? "fill=\"#ffffff\" stroke=\"\(color)\" stroke-width=\"1.8\"" : "fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\""
        let tooltip = name.map { "<title>\(escaped($0))</title>" } ?? ""
        let kind = name == nil ? "legend-marker" : "marker"
        let body: String
        switch marker {
        case .circle: body = "<circle class=\"\(kind)\" cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"4.5\" \(paint)"
        case .square: body = "<rect class=\"\(kind)\" x=\"\(n(x - 4))\" y=\"\(n(y - 4))\" width=\"8\" height=\"8\" \(paint)"
        case .diamond: body = "<polygon class=\"\(kind)\" points=\"\(n(x)),\(n(y - 5.5)) \(n(x + 5.5)),\(n(y)) \(n(x)),\(n(y + 5.5)) \(n(x - 5.5)),\(n(y))\" \(paint)"
        case .triangle: body = "<polygon class=\"\(kind)\" points=\"\(n(x)),\(n(y - 5.5)) \(n(x + 5.5)),\(n(y + 4.5)) \(n(x - 5.5)),\(n(y + 4.5))\" \(paint)"
        case .none: return ""
        }
        return tooltip.isEmpty ? body + "/>" : body + ">" + tooltip + "</" + body.dropFirst().prefix { $0 != " " } + ">"
    }

    /// `text` with `& < > " '` escaped for XML.
    public static func escaped(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    // MARK: Ticks

    /// Ticks at multiples of a 1-2-5 step giving about 5 intervals; unless
    /// `fixed`, the range is widened to whole steps. Labels have just enough
    /// decimals for the step (`NumberText.fixed`).
    static func linearTicks(low: Double, high: Double, fixed: Bool) -> (Axis, [(value: Double, label: String)]) {
        var low = low, high = high
        if !(high - low).isFinite || !low.isFinite || !high.isFinite { (low, high) = (0, 1) }  // infinite or NaN bounds
        if !(high > low) { (low, high) = (low - max(1, low.magnitude * 0.1), high + max(1, high.magnitude * 0.1)) }
        let raw = (high - low) / 5
        let magnitude = log10(raw).rounded(.down)
        let f = raw / pow(10, magnitude)
        let step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * pow(10, magnitude)
        let ends = (Axis(low: low, high: high, log: false), [(value: low, label: NumberText.compact(low)), (value: high, label: NumberText.compact(high))])
        // A range too narrow or too wide for a Double's steps (subnormal or near-overflow differences) gets its ends only.
        guard raw > 0, raw.isFinite, magnitude.isFinite, step > 0, step.isFinite else { return ends }
        if !fixed { (low, high) = ((low / step).rounded(.down) * step, (high / step).rounded(.up) * step) }
        let decimals = min(17, max(0, -Int(magnitude) + (f >= 7 ? -1 : 0)))  // magnitude is finite, within ±330: no trap
        let first = (low / step - 1e-9).rounded(.up), last = (high / step + 1e-9).rounded(.down)
        guard low.isFinite, high.isFinite, last - first < 20, last >= first else {  // steps lost in floating-point precision
            return (Axis(low: low.isFinite ? low : ends.0.low, high: high.isFinite ? high : ends.0.high, log: false), ends.1)
        }
        let ticks = stride(from: first, through: last, by: 1).map { k in
            (value: k * step, label: NumberText.fixed(k * step, digits: decimals))
        }
        return (Axis(low: low, high: high, log: false), ticks)
    }

    /// Ticks at 1, 2, 5 x 10^k inside the range (only 10^k if that gives
    /// more than 8); the range is the data's, widened by a tenth of its
    /// length (in log space, at least a factor of 1.2) at each end.
    static func logTicks(low: Double, high: Double) -> (Axis, [(value: Double, label: String)]) {
        var low = low, high = high
        if !(low > 0) || !low.isFinite { low = 1 }
        if !(high > 0) || !high.isFinite { high = low * 10 }
        if !(high > low) { (low, high) = (low / 2, high * 2) }
        let widen = max(1.2, pow(high / low, 0.1))
        low /= widen; high *= widen
        if !(low > 0) { low = Double.leastNormalMagnitude }
        if !high.isFinite { high = Double.greatestFiniteMagnitude }
        let first = Int(log10(low).rounded(.down)), last = Int(log10(high).rounded(.up))  // within ±330
        func ticks(_ mantissas: [Double]) -> [(value: Double, label: String)] {
            var ticks: [(value: Double, label: String)] = []
            for e in first...max(first, last) {
                for m in mantissas {
                    let value = m * pow(10, Double(e))
                    if value >= low && value <= high {
                        ticks.append((value, e >= -3 && e < 8 ? NumberText.fixed(value, digits: max(0, -e)) : NumberText.scientific(value, digits: 0)))
                    }
                }
            }
            return ticks
        }
        let dense = ticks([1, 2, 5])
        guard dense.count > 8 else { return (Axis(low: low, high: high, log: true), dense) }
        // Powers of ten, every k-th of them when there are many.
        let sparse = ticks([1]), every = max(1, (sparse.count + 7) / 8)
        return (Axis(low: low, high: high, log: true), sparse.enumerated().filter { $0.offset % every == 0 }.map(\.element))
    }
}
