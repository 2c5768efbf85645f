import ArgumentParser
import Distill
import DistillIO
#if canImport(Glibc)
import Glibc
#endif

extension DistillCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distil a dataset folder into a few synthetic images per class (the default command).",
            discussion: """
                Reads the IDX files of a dataset folder (MNIST's file names, raw or gzip), \
                learns `--images-per-class` synthetic images for every class, and writes the \
                grid as a PNG, the images and labels as IDX, a per-step history.csv, a \
                metrics.json and a report.html to open in a browser into `--out`.

                Examples:
                  distill run
                  distill run --images-per-class 10 --steps 300 --out out-10
                  distill run --init real --seed 7 --l2 0.01
                  distill run --eval-every 20 --snapshot-every 20
                """)

        @OptionGroup var options: DistillOptions

        @Option(help: "How many synthetic images to learn for each class.")
        var imagesPerClass = DistillerConfiguration().imagesPerClass

        @Option(help: "The folder to write the results into; created if missing.")
        var out = "out"

        @Option(help: "How many times each pixel is enlarged in distilled.png.")
        var zoom = 4

        @Flag(help: "Print only errors and the final summary.")
        var quiet = false

        @OptionGroup(title: "Watching the run") var display: DisplayOptions

        func validate() throws {
            guard imagesPerClass >= 1 else { throw ValidationError("--images-per-class must be at least 1, got \(imagesPerClass).") }
            guard (1...64).contains(zoom) else { throw ValidationError("--zoom must lie between 1 and 64, got \(zoom).") }
        }

        var distillerConfiguration: DistillerConfiguration {
            options.configuration(imagesPerClass: imagesPerClass)
        }

        func run() throws {
            do {
                try execute()
            } catch {
                printError(error.description)
                throw ExitCode.failure
            }
        }

        private func execute() throws(CLIError) {
            let dataset = try LoadedDataset(path: options.data)
            let distiller = try makeDistiller(dataset, configuration: distillerConfiguration)
            let classNames = try display.names(classes: dataset.folder.classes)
            // Only once every input is loaded and checked: bad input never creates `--out`.
            let outExisted = access(out, F_OK) == 0
            do { try OutputFile.createDirectory(out) } catch { throw CLIError(error) }
            let watch = try RunDisplay(display, quiet: quiet, dataset: dataset, out: out, zoom: zoom, classNames: classNames)
            let outcome = distil(distiller, dataset: dataset, options: options, observers: watch.observers)
            let outputs = RunOutputs(folder: out, height: dataset.folder.train.height, width: dataset.folder.train.width, zoom: zoom)
            do {
                try outputs.write(outcome)
            } catch {
                // The outputs are written as a set or not at all: a folder made for them is empty.
                if !outExisted { rmdir(out) }
                throw CLIError(error)
            }
            let extras = try watch.writeExtras(outcome, outputs: outputs)
            watch.printSummary(outcome, folder: out, files: outputs.files + extras)
        }
    }
}
