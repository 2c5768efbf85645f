// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Distill",
    products: [
        .executable(name: "distill", targets: ["DistillCLI"]),
        .library(name: "ImplicitDiff", targets: ["ImplicitDiff"]),
        .library(name: "Distill", targets: ["Distill"]),
        .library(name: "DistillIO", targets: ["DistillIO"]),
        .library(name: "DistillNetworks", targets: ["DistillNetworks"]),
        .executable(name: "distill-network-bench", targets: ["DistillNetworkBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        // oneDNN (the CPU library PyTorch uses): its single-precision GEMM runs the
        // networks' convolutions and dense layers. No pkg-config file in Debian.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // The labelled-image type and its pixel storage, shared by everything. No imports.
        .target(name: "DistillImages", exclude: ["README.md"]),
        // PNG decoding with libpng's row API: its setjmp/longjmp error handling stays in C.
        .target(name: "CPNGRead", dependencies: ["CPNG"]),
        // Files in, arrays out: IDX, dataset folders, PNG grids. No numerics.
        .target(name: "DistillIO", dependencies: ["CZlib", "CPNG", "CPNGRead", "DistillImages"], exclude: ["README.md"]),
        // The fused outer-pass kernels in C (AVX-512 with run-time dispatch, portable fallback).
        // The numerical kernels are optimised even in debug builds: at -O0 one pass
        // over MNIST takes about a second instead of 12 ms, which would make
        // `swift test` (a debug build) crawl. Safe flags only: -O2 changes no result.
        .target(name: "CDistillKernels",
                exclude: ["README.md"],
                cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        // Arrays in, numbers out: RNG, Adam, the outer pass kernel. No files.
        .target(name: "DistillNumerics", dependencies: ["CDistillKernels", "DistillImages"], exclude: ["README.md"]),
        // Dataset sources: one protocol, one type per format, one load path.
        .target(name: "DistillDatasets", dependencies: ["DistillIO", "DistillImages"], exclude: ["README.md"]),
        // The implicit function theorem as a library: conditions, linear solvers, rootVJP.
        .target(name: "ImplicitDiff", exclude: ["README.md"]),
        // Softmax regression, its inner solver, the hypergradient and the distiller loop.
        .target(name: "Distill", dependencies: ["DistillImages", "DistillNumerics", "ImplicitDiff"], exclude: ["README.md"]),
        // Running a distillation: the step loop and its observers, guards, checkpoints,
        // metrics and output files. Used by the `distill` commands; usable by any program.
        .target(name: "DistillRun", dependencies: ["Distill", "DistillDatasets", "DistillIO", "DistillImages", "DistillNumerics", "ImplicitDiff"], exclude: ["README.md"]),
        // Training real networks (MLP, ConvNet-3) from scratch on an image set and
        // measuring their test accuracy: the field's evaluation of a distilled set.
        // Optimised even in debug builds, like the C kernels: its loops are generic
        // (Float for training, Double for the derivative tests) and unspecialised
        // generic code at -Onone is two orders of magnitude slower.
        .target(name: "DistillNetworks", dependencies: ["CDNNL", "DistillImages", "DistillNumerics"], exclude: ["README.md"],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // The `distill` command: composes IO and Distill.
        .executableTarget(
            name: "DistillCLI",
            dependencies: [
                "Distill", "DistillDatasets", "DistillImages", "DistillIO", "DistillNetworks", "DistillNumerics", "DistillRun", "ImplicitDiff",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]),

        // Times DistillNetworks on MNIST (random real images, DC's protocol); prints JSON.
        // A measuring tool for tools/network-bench.sh, not part of `distill`.
        .executableTarget(name: "DistillNetworkBench",
                          dependencies: ["DistillNetworks", "DistillDatasets", "DistillImages", "DistillIO", "DistillNumerics"]),

        .target(name: "_TestSupport", dependencies: ["DistillImages", "DistillNumerics", "DistillDatasets", "DistillIO"], path: "Tests/_TestSupport"),
        .testTarget(name: "DistillIOTests", dependencies: ["DistillIO", "CPNG", "CZlib"]),
        .testTarget(name: "DistillNumericsTests", dependencies: ["DistillNumerics", "_TestSupport"]),
        .testTarget(name: "DistillNetworksTests", dependencies: ["DistillNetworks", "DistillImages", "DistillNumerics", "_TestSupport"]),
        .testTarget(name: "ImplicitDiffTests", dependencies: ["ImplicitDiff", "_TestSupport"]),
        .testTarget(name: "DistillTests",
                    dependencies: ["Distill", "DistillIO", "DistillNumerics", "ImplicitDiff", "_TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DistillDatasetsTests", dependencies: ["DistillDatasets", "Distill", "DistillImages", "_TestSupport"]),
        .testTarget(name: "DistillCLITests", dependencies: ["DistillCLI", "DistillIO", "DistillRun", "DistillImages", "_TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
