import DistillIO

/// One size of a sweep.
struct SweepRow: Equatable {
    var imagesPerClass: Int
    var testAccuracy: Double
    var trainLoss: Double
    var seconds: Double
}

/// The files that summarise a sweep: a CSV, a Markdown table and a chart.
struct SweepReport {
    let rows: [SweepRow]
    let target: Double?

    /// The first (smallest) size whose test accuracy reaches `target`.
    func smallestReaching(_ target: Double) -> SweepRow? {
        rows.sorted { $0.imagesPerClass < $1.imagesPerClass }.first { $0.testAccuracy >= target }
    }

    var csv: String {
        var text = "images_per_class,test_accuracy,train_loss,seconds\n"
        for r in rows { text += "\(r.imagesPerClass),\(r.testAccuracy),\(r.trainLoss),\(r.seconds)\n" }
        return text
    }

    var markdown: String {
        var text = "| images per class | test accuracy | train loss | seconds |\n| ---: | ---: | ---: | ---: |\n"
        for r in rows {
            text += "| \(r.imagesPerClass) | \(format(100 * r.testAccuracy, 2))% | \(format(r.trainLoss, 4)) | \(format(r.seconds, 1)) |\n"
        }
        if let target {
            let best = smallestReaching(target)
            text += "\nTarget \(format(100 * target, 2))%: " + (best.map { "reached at \($0.imagesPerClass) image(s) per class.\n" } ?? "not reached.\n")
        }
        return text
    }

    func chart() throws(PNGError) -> PNGImage {
        let distilled = LineChart.Series(name: "distilled", points: rows.map { (x: Double($0.imagesPerClass), y: 100 * $0.testAccuracy) })
        return try LineChart(series: [distilled], title: "Test accuracy against images per class",
                             xLabel: "images per class", yLabel: "test accuracy %", logScaleX: true).rendered()
    }
}
