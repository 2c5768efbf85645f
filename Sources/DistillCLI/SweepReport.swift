import Distill
import DistillIO
import DistillRun

/// One size of a sweep: the distilled set's figures and its baselines.
struct SweepRow {
    var imagesPerClass: Int
    var testAccuracy: Double
    var trainLoss: Double
    var correlation: Double?
    var seconds: Double
    var baselines: [BaselineResult]
}

/// The files that summarise a sweep: a CSV, a Markdown table and a chart.
struct SweepReport {
    let rows: [SweepRow]
    let target: Double?

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
        text += "\n"
        for r in rows {
            text += "\(r.imagesPerClass),\(r.testAccuracy),\(r.trainLoss),\(r.correlation.map { "\($0)" } ?? ""),\(r.seconds)"
            for name in names {
                let b = baseline(name, in: r)
                text += ",\(b.map { "\($0.testAccuracy)" } ?? ""),\(b.map { "\($0.trainLoss)" } ?? "")"
            }
            text += "\n"
        }
        return text
    }

    var markdown: String {
        let names = baselineNames
        var text = "| images per class | distilled: test accuracy | train loss | correlation with class mean | seconds |"
        for name in names { text += " \(name.replacingOccurrences(of: "_", with: " ")) |" }
        text += "\n| ---: | ---: | ---: | ---: | ---: |" + String(repeating: " ---: |", count: names.count) + "\n"
        for r in rows {
            text += "| \(r.imagesPerClass) | \(format(100 * r.testAccuracy, 2))% | \(format(r.trainLoss, 4)) | \(r.correlation.map { format($0, 3) } ?? "-") | \(format(r.seconds, 1)) |"
            for name in names {
                guard let b = baseline(name, in: r) else { text += " - |"; continue }
                text += " \(format(100 * b.testAccuracy, 2))%" + (b.testAccuracyStd.map { " ± \(format(100 * $0, 2))" } ?? "") + " |"
            }
            text += "\n"
        }
        if !names.isEmpty {
            text += "\nBaselines: the same model trained on random real images (mean ± standard deviation over 5 draws), on the class means (1 per class) or k-means centroids, with one-hot labels and the run's starting L2; and on all the training data at L2 \(fullDataCeilingL2) (the ceiling).\n"
        }
        if let target {
            let best = smallestReaching(target)
            text += "\nTarget \(format(100 * target, 2))%: " + (best.map { "reached at \($0.imagesPerClass) image(s) per class.\n" } ?? "not reached.\n")
        }
        return text
    }

    func chart() throws(PNGError) -> PNGImage {
        var series: [LineChart.Series] = baselineNames.map { name in
            let points = rows.compactMap { row in baseline(name, in: row).map { (x: Double(row.imagesPerClass), y: 100 * $0.testAccuracy) } }
            return LineChart.Series(name: name.replacingOccurrences(of: "_", with: " "), points: points)
        }
        // Drawn last, so that it stays visible where it meets the full-data ceiling.
        series.append(LineChart.Series(name: "distilled", points: rows.map { (x: Double($0.imagesPerClass), y: 100 * $0.testAccuracy) },
                                       color: LineChart.Color(0, 0, 0)))
        return try LineChart(series: series, title: "Test accuracy against images per class",
                             xLabel: "images per class", yLabel: "test accuracy %", logScaleX: true).rendered()
    }
}
