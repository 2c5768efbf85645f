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
        let subset = (try? InnerModels.factory(named: model))?.ceilingTrainingImages != nil
        self.init(images: subset ? NeuralKernelCeiling.subset(of: train).count : train.count, trainingImages: train.count)
    }

    /// Whether the ceiling is fitted on the whole training set.
    var isAll: Bool { images >= trainingImages }

    /// The kernel matrix's memory when the ceiling solves one (nil otherwise):
    /// four `n x n` Double matrices (`NeuralKernelCeiling`).
    func kernelBytes(model: String) -> Int? {
        guard (try? InnerModels.factory(named: model))?.ceilingTrainingImages != nil else { return nil }
        return 4 * images * images * 8
    }
}
