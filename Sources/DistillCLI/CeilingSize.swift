import Distill
import DistillImages

/// How many training images a model's ceiling (the baseline `full_data`) is
/// fitted on: all of them, or, for the NNGP and NTK models, the balanced
/// subset of `NeuralKernelCeiling` (10,000 images when the set is larger), so
/// that no line calls a subset "full data".
struct CeilingSize: Equatable {
    /// The images the ceiling is fitted on.
    let images: Int
    /// The training set's images.
    let trainingImages: Int

    init(images: Int, trainingImages: Int) {
        self.images = images
        self.trainingImages = trainingImages
    }

    /// The ceiling of `model` (a `--model` name) on `train`.
    init(model: String, train: LabeledImages) {
        self.init(images: Self.fitsASubset(model) ? NeuralKernelCeiling.subsetCount(of: train) : train.count,
                  trainingImages: train.count)
    }

    /// Whether `model`'s ceiling is a kernel fitted on a subset
    /// (`InnerModelFactory.ceilingTrainingImages`: the NNGP and NTK models).
    private static func fitsASubset(_ model: String) -> Bool {
        (try? InnerModels.factory(named: model))?.ceilingTrainingImages != nil
    }

    /// Whether the ceiling is fitted on the whole training set.
    var isAll: Bool { images >= trainingImages }

    /// What the ceiling was fitted on, as its line on a chart is labelled:
    /// "all data" or "10000 training images".
    var label: String { Self.label(subsetImages: isAll ? nil : images) }

    /// `label` for a ceiling fitted on a subset of `subsetImages` images (nil: all the data).
    static func label(subsetImages: Int?) -> String { subsetImages.map { "\($0) training images" } ?? "all data" }

    /// The kernel matrix's memory when the ceiling solves one (nil otherwise):
    /// four `n x n` Double matrices (`NeuralKernelCeiling`).
    func kernelBytes(model: String) -> Int? {
        Self.fitsASubset(model) ? 4 * images * images * 8 : nil
    }
}
