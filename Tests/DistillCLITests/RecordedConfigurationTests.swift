import Distill
import DistillDatasets
import DistillRun
import Foundation
import Testing

/// metrics.json's `configuration` states only the settings the run's model
/// reads, with their effective values (issue 11, "written files hold exactly
/// what was computed"): it used to record `outerLoss: "mse"`, a kernel depth
/// and unrolled steps for the logistic model, which reads none of them. Through
/// the real `distill` executable, for every model; eval reads each record back.
@Suite struct RecordedConfigurationTests {
    /// What every run reads, with the labels and the L2 strength learned (the default).
    static let shared: Set<String> = [
        "imagesPerClass", "steps", "learningRate", "l2", "seed", "initialisation", "innerTolerance", "threads",
        "learnLabels", "learnL2", "pixelRange", "schedule", "pull", "model", "hypergradient",
        "labelLearningRate", "l2LearningRate",
    ]

    /// Each model's options, and the settings of its own its record must add to `shared`.
    static let models: [(options: [String], own: Set<String>)] = [
        (["--model", "logistic"], ["linearSolveTolerance", "linearSolveMaxIterations"]),
        (["--model", "logistic", "--hypergradient", "unrolled", "--unroll-steps", "7"], ["unrollSteps"]),
        (["--model", "ridge"], ["linearSolveTolerance", "linearSolveMaxIterations"]),
        (["--model", "kernel-ridge"], ["kernelBandwidth", "linearSolveTolerance", "linearSolveMaxIterations"]),
        (["--model", "nngp"], ["kernelDepth", "weightVariance", "biasVariance", "outerLoss", "linearSolveTolerance"]),
        (["--model", "ntk"], ["kernelDepth", "weightVariance", "biasVariance", "outerLoss", "linearSolveTolerance"]),
    ]

    static func configuration(_ out: String) throws -> [String: Any] {
        let metrics = try RunFaultTests.metrics(out)
        return try #require(metrics["configuration"] as? [String: Any])
    }

    @Test(arguments: models.indices)
    func theRecordHoldsOnlyTheSettingsTheModelReads(index: Int) throws {
        let (options, own) = Self.models[index]
        let s = try RunFaultTests.Scratch("recorded\(index)")
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "2", "--quiet"] + options)
        #expect(result.status == 0, "\(result.stderr)")
        let recorded = try Self.configuration(out)
        #expect(Set(recorded.keys) == Self.shared.union(own), "\(options)")
        #expect(recorded["steps"] as? Int == 2)
        switch options[1] {
        case "logistic" where options.contains("unrolled"):
            #expect(recorded["unrollSteps"] as? Int == 7 && recorded["hypergradient"] as? String == "unrolled")
        case "logistic", "ridge":
            #expect(recorded["linearSolveTolerance"] as? Double == 1e-8 && recorded["linearSolveMaxIterations"] as? Int == 1000)
        case "kernel-ridge":
            // The bandwidth the model used: the median heuristic on the training set (no --kernel-bandwidth option).
            let dataset = try DatasetSources.load(s.data.path)
            #expect(recorded["kernelBandwidth"] as? Double == KernelRidgeRegression.defaultBandwidth(for: dataset.train))
        case "nngp":
            #expect(recorded["kernelDepth"] as? Int == 3 && recorded["outerLoss"] as? String == "cross-entropy")
        case "ntk":
            #expect(recorded["kernelDepth"] as? Int == 2 && recorded["weightVariance"] as? Double == 2
                    && recorded["biasVariance"] as? Double == 0.01 && recorded["outerLoss"] as? String == "cross-entropy")
        default:
            Issue.record("no expectation for \(options)")
        }
        // eval builds the run's model again from the record.
        let eval = try RunFaultTests.distillOutput(["eval", "--distilled", out, "--data", s.data.path, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let metrics = try RunFaultTests.metrics(out)
        #expect(report["model"] as? String == metrics["model"] as? String)
    }

    /// Learning rates of what is not learned are not recorded either.
    @Test func fixedLabelsAndL2RecordNoLearningRateForThem() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "2", "--quiet",
                                     "--learn-labels", "off", "--learn-l2", "off"])
        #expect(result.status == 0, "\(result.stderr)")
        let recorded = try Self.configuration(out)
        #expect(Set(recorded.keys) == Self.shared.subtracting(["labelLearningRate", "l2LearningRate"])
            .union(["linearSolveTolerance", "linearSolveMaxIterations"]))
        #expect(recorded["learnLabels"] as? Bool == false && recorded["learnL2"] as? Bool == false)
    }

    /// Every setting is classified: each model's record is a subset of the
    /// configuration's keys, and every key is read by some model.
    @Test func everySettingIsReadBySomeModel() throws {
        var union: Set<String> = []
        for name in InnerModels.names {
            for hypergradient in HypergradientMethod.allCases {
                var c = try InnerModels.defaultConfiguration(model: name)
                c.hypergradient = hypergradient
                c.batch = 100  // every model reads an outer batch when one is given
                guard let factory = try? InnerModels.factory(named: name),
                      hypergradient == .implicit || factory.supportsUnrolledHypergradient else { continue }
                union.formUnion(c.settingsInUse(factory).map(\.rawValue))
            }
        }
        #expect(union == Set(DistillerConfiguration.CodingKeys.allCases.map(\.rawValue)))
    }
}
