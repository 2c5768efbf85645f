#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Sets standard output to line buffering (`setvbuf(stdout, nil, _IOLBF, 0)`):
/// written to a pipe or a file, each line then appears as soon as it is printed.
/// Called once, first thing, before any other thread exists.
func lineBufferStandardOutput() {
    setvbuf(stdout, nil, _IOLBF, 0)
}
