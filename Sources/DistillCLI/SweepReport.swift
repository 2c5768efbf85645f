import Distill
import DistillIO
import DistillNetworks
import DistillRun

/// One size of a sweep: the distilled set's figures and its baselines.
struct SweepRow {
    var imagesPerClass: Int
    var testAccuracy: Double
    var trainLoss: Double
    var correlation: Double?
    var seconds: Double
    var baselines: [BaselineResult]
    /// With `--network`: the networks' results on the distilled set (`distilled`)
    /// and on each baseline (by `BaselineResult` name).
    var networks: [String: NetworkEvaluationResult] = [:]
}

/// The files that summarise a sweep: a CSV, a Markdown table and a chart (sweep.svg).
struct SweepReport {
    let rows: [SweepRow]
    let target: Double?
    /// The size of the training subset the ceiling was fitted on; nil for all of it
    /// (`CeilingSize`).
    var ceilingTrainingImages: Int? = nil

    /// A baseline's column in sweep.md: its name in words, and for the ceiling
    /// what it was trained on ("full data", or "ceiling (10000 training images)":
    /// a subset is not the full data).
    func columnTitle(_ name: String) -> String {
        guard name == "full_data" else { return name.replacingOccurrences(of: "_", with: " ") }
        return ceilingTrainingImages.map { "ceiling (\($0) training images)" } ?? "full data"
    }

    /// Where the ceiling was trained, as a phrase.
    var ceilingSet: String {
        ceilingTrainingImages.map { "a balanced subset of \($0) training images (the largest one Cholesky factorisation of the kernel handles in under a minute)" }
            ?? "all the training data"
    }

    /// The `--network` column's title (ConvNet-3, MLP, NTK-MLP); nil without one.
    var network: String? = nil

    /// The first (smallest) size whose test accuracy reaches `target`.
    func smallestReaching(_ target: Double) -> SweepRow? {
        rows.sorted { $0.imagesPerClass < $1.imagesPerClass }.first { $0.testAccuracy >= target }
    }

    /// The baseline names, in the order they first appear.
    var baselineNames: [String] {
        var names: [String] = []
        for row in rows { for b in row.baselines where !names.contains(b.name) { names.append(b.name) } }
        // The ceiling last, beside the distilled sets' own columns it bounds.
        return names.filter { $0 != "full_data" } + names.filter { $0 == "full_data" }
    }

    private func baseline(_ name: String, in row: SweepRow) -> BaselineResult? {
        row.baselines.first { $0.name == name }
    }

    var csv: String {
        let names = baselineNames
        var text = "images_per_class,test_accuracy,train_loss,class_mean_correlation,seconds"
        for name in names { text += ",\(name)_test_accuracy,\(name)_train_loss" }
        for key in networkKeys { text += ",\(key)_\(networkSlug)_test_accuracy,\(key)_\(networkSlug)_test_accuracy_std" }
        text += "\n"
        for r in rows {
            let n = NumberText.shortest as (Double) -> String
            text += "\(r.imagesPerClass),\(n(r.testAccuracy)),\(n(r.trainLoss)),\(r.correlation.map(n) ?? ""),\(n(r.seconds))"
            for name in names {
                let b = baseline(name, in: r)
                text += ",\(b.map { n($0.testAccuracy) } ?? ""),\(b.map { n($0.trainLoss) } ?? "")"
            }
            for key in networkKeys {
                let r = row(key, r)
                text += ",\(r.map { n($0.testAccuracyMean) } ?? ""),\(r.map { n($0.testAccuracyStd) } ?? "")"
            }
            text += "\n"
        }
        return text
    }

    var markdown: String {
        let names = baselineNames
        var text = "| images per class | distilled: test accuracy | train loss | correlation with class mean | distillation time |"
        for name in names { text += " \(columnTitle(name)) |" }
        for key in networkKeys { text += " \(network ?? ""): \(key.replacingOccurrences(of: "_", with: " ")) |" }
        text += "\n| ---: | ---: | ---: | ---: | ---: |" + String(repeating: " ---: |", count: names.count + networkKeys.count) + "\n"
        for r in rows {
            text += "| \(r.imagesPerClass) | \(format(100 * r.testAccuracy, 2))% | \(format(r.trainLoss, 4)) | \(r.correlation.map { format($0, 3) } ?? "-") | \(NumberText.duration(r.seconds)) |"
            for name in names {
                guard let b = baseline(name, in: r) else { text += " - |"; continue }
                text += " \(format(100 * b.testAccuracy, 2))%" + (b.testAccuracyStd.map { " ± \(format(100 * $0, 2))" } ?? "") + " |"
            }
            for key in networkKeys {
                guard let n = row(key, r) else { text += " - |"; continue }
                text += " \(format(100 * n.testAccuracyMean, 2))% ± \(format(100 * n.testAccuracyStd, 2)) |"
            }
            text += "\n"
        }
        if !names.isEmpty {
            text += "\nBaselines: the same model trained on random real images (mean ± standard deviation over 5 draws), on the class means (1 per class) or k-means centroids, with one-hot labels and the run's starting L2; and on \(ceilingSet) at L2 \(fullDataCeilingL2) (the ceiling).\n"
        }
        if let network, let first = rows.lazy.compactMap({ $0.networks["distilled"] }).first {
            text += "\n\(network) columns: \(counted(first.seeds.count, "network")) trained from scratch on each set (mean ± population standard deviation over seeds; random real images drawn anew per network), with the protocol (and the loss on learned labels) written in each size's \(Self.networkFileName).\n"
        }
        if let target {
            let best = smallestReaching(target)
            text += "\nTarget \(format(100 * target, 2))%: " + (best.map { "reached at \(counted($0.imagesPerClass, "image")) per class.\n" } ?? "not reached.\n")
        }
        return text
    }

    static let chartFileName = "sweep.svg"
    /// Each size folder's network results (with `--network`).
    static let networkFileName = "network-eval.json"

    /// The keys of the network columns: `distilled`, then each baseline that has one.
    var networkKeys: [String] {
        guard network != nil else { return [] }
        return ["distilled"] + baselineNames.filter { name in rows.contains { $0.networks[name] != nil } }
    }

    /// The network's name in CSV columns: `convnet_3`, `mlp`, `ntk_mlp`.
    var networkSlug: String { (network ?? "network").lowercased().replacingOccurrences(of: "-", with: "_") }

    private func row(_ key: String, _ r: SweepRow) -> NetworkEvaluationResult? { r.networks[key] }

    /// How each baseline is drawn and named on the chart.
    static let baselineStyles: [String: (label: String, color: String, marker: LineChart.Marker, dash: String?)] = [
        "random_real": ("random real images (mean of 5 draws)", "#ff7f0e", .square, "7 4"),
        "kmeans": ("k-means centroids", "#1f77b4", .diamond, "2 3"),
        "class_means": ("class means", "#2ca02c", .triangle, "2 3"),
    ]

    /// sweep.svg: test accuracy against images per class (log scale) for the
    /// distilled sets (drawn last, in black) and each baseline; a baseline
    /// measured at one size only is a labelled point, and the ceiling (the
    /// model on all the data, or the NNGP / NTK subset) a labelled line across the whole axis.
    func chart() -> LineChart {
        var series: [LineChart.Series] = []
        for name in baselineNames where name != "full_data" {
            let points = rows.compactMap { row in baseline(name, in: row).map { (x: Double(row.imagesPerClass), y: 100 * $0.testAccuracy) } }
            let style = Self.baselineStyles[name] ?? (name.replacingOccurrences(of: "_", with: " "), "#7f7f7f", .circle, nil)
            let only = points.count == 1 ? points[0] : nil
            series.append(LineChart.Series(
                name: style.label, points: points, color: style.color, marker: style.marker, hollow: true, dash: style.dash,
                pointLabel: only.map { "\(style.label) (\(NumberText.fixed($0.x, digits: 0)) per class): \(NumberText.fixed($0.y, digits: 1))%" }))
        }
        for key in networkKeys.reversed() {
            let points = rows.sorted { $0.imagesPerClass < $1.imagesPerClass }
                .compactMap { row in row.networks[key].map { (x: Double(row.imagesPerClass), y: 100 * $0.testAccuracyMean) } }
            let style = key == "distilled" ? ("distilled", "#111111", LineChart.Marker.circle, nil)
                : Self.baselineStyles[key] ?? (key.replacingOccurrences(of: "_", with: " "), "#7f7f7f", .circle, nil)
            series.append(LineChart.Series(name: "\(style.0), \(network ?? "network")", points: points, color: style.1,
                                           marker: style.2, hollow: key != "distilled", dash: "1 3"))
        }
        let distilled = rows.sorted { $0.imagesPerClass < $1.imagesPerClass }.map { (x: Double($0.imagesPerClass), y: 100 * $0.testAccuracy) }
        series.append(LineChart.Series(name: "distilled", points: distilled, color: "#111111", marker: .circle,
                                       pointLabel: distilled.first.map { "distilled: \(NumberText.fixed($0.y, digits: 1))%" }))
        let ceiling = rows.lazy.compactMap { row in self.baseline("full_data", in: row) }.first
        let references = ceiling.map { [LineChart.ReferenceLine(
            label: "\(CeilingSize.label(subsetImages: ceilingTrainingImages)): \(NumberText.fixed(100 * $0.testAccuracy, digits: 1))%", y: 100 * $0.testAccuracy, color: "#c0392b")] } ?? []
        return LineChart(series: series, referenceLines: references, title: "Test accuracy against images per class",
                         xLabel: "images per class (log scale)", yLabel: "test accuracy (%)", logScaleX: true,
                         width: 760, height: 480, identifier: "sweep")
    }
}
