import CDNNL

/// The pieces of oneDNN's C API the convolutions use: one CPU engine, memory
/// descriptors, and a primitive with its memory objects.
///
/// oneDNN's failures here come only from shapes the layers build themselves
/// (never from input data), so they stop the program with the call and status.
enum OneDNN {
    /// The process' CPU engine (oneDNN engines are thread-safe).
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        return engine!
    }()

    @inline(__always)
    static func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN: \(call()) failed with status \(status.rawValue)")
    }

    /// A `Float` memory descriptor of `dims` (logical order as oneDNN names them:
    /// n, c, h, w for data; o, i, h, w for weights) in `tag`'s layout.
    static func descriptor(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        // dnnl_dims_t is dnnl_dim_t[12]: the C function reads the first dims.count values.
        let d = dims.map(Int64.init) + [Int64](repeating: 0, count: 12 - dims.count)
        let status = dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), d, dnnl_f32, tag)
        check(status, "dnnl_memory_desc_init_by_tag(\(dims))")
        return md
    }

    /// Memory for `md` without a buffer (`handle` nil: set one before each use) or
    /// with one oneDNN allocates and owns (`allocate`).
    static func memory(_ md: UnsafePointer<dnnl_memory_desc_t>, allocate: Bool = false) -> dnnl_memory_t {
        var memory: dnnl_memory_t?
        // DNNL_MEMORY_ALLOCATE is ((void *)(size_t)-1); DNNL_MEMORY_NONE is NULL.
        check(dnnl_memory_create(&memory, md, engine, allocate ? UnsafeMutableRawPointer(bitPattern: -1) : nil),
              "dnnl_memory_create")
        return memory!
    }

    /// Sets the buffer `memory` reads or writes.
    @inline(__always)
    static func bind(_ memory: dnnl_memory_t, _ pointer: UnsafeRawPointer) {
        check(dnnl_memory_set_data_handle(memory, UnsafeMutableRawPointer(mutating: pointer)), "dnnl_memory_set_data_handle")
    }

    /// A primitive descriptor for `descriptor` (a `dnnl_*_desc_t`), with `hint`
    /// (the forward pass' descriptor, for backward passes).
    ///
    /// Every primitive uses its own scratchpad, which the caller passes
    /// (`scratchpad(_:)`): by default oneDNN shares one between primitives, which
    /// lanes running primitives on several threads at once cannot do.
    static func primitiveDescriptor<D>(_ descriptor: inout D, hint: dnnl_primitive_desc_t? = nil) -> dnnl_primitive_desc_t {
        var pd: dnnl_primitive_desc_t?
        check(withUnsafeMutablePointer(to: &descriptor) { dnnl_primitive_desc_create(&pd, $0, userScratchpad, engine, hint) },
              "dnnl_primitive_desc_create(\(D.self))")
        return pd!
    }

    /// Like `primitiveDescriptor`, or nil when oneDNN has no implementation for
    /// `descriptor` (`dnnl_unimplemented`: e.g. Winograd for a shape it does not cover).
    static func primitiveDescriptorIfAvailable<D>(_ descriptor: inout D, hint: dnnl_primitive_desc_t? = nil) -> dnnl_primitive_desc_t? {
        var pd: dnnl_primitive_desc_t?
        let status = withUnsafeMutablePointer(to: &descriptor) { dnnl_primitive_desc_create(&pd, $0, userScratchpad, engine, hint) }
        if status == dnnl_unimplemented { return nil }
        check(status, "dnnl_primitive_desc_create(\(D.self))")
        return pd
    }

    /// Attributes asking for a user-managed scratchpad.
    nonisolated(unsafe) static let userScratchpad: dnnl_primitive_attr_t = {
        var attr: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "dnnl_primitive_attr_set_scratchpad_mode")
        return attr!
    }()

    /// The scratchpad `pd` needs, as memory oneDNN allocates.
    static func scratchpad(_ pd: dnnl_primitive_desc_t) -> dnnl_memory_t {
        var md = query(pd, dnnl_query_scratchpad_md)
        return memory(&md, allocate: true)
    }

    static func primitive(_ pd: dnnl_primitive_desc_t) -> dnnl_primitive_t {
        var primitive: dnnl_primitive_t?
        check(dnnl_primitive_create(&primitive, pd), "dnnl_primitive_create")
        return primitive!
    }

    /// The memory descriptor `pd` wants for `what` (e.g. `dnnl_query_weights_md`).
    static func query(_ pd: dnnl_primitive_desc_t, _ what: dnnl_query_t) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, what, 0)!.pointee
    }

    /// The implementation oneDNN chose (e.g. `brgconv:avx512_core`), for benchmarks.
    static func implementation(_ pd: dnnl_primitive_desc_t) -> String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "?" }
        return String(cString: name)
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var (a, b) = (a, b)
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    /// A reorder from `source` to `destination` with its own scratchpad, or nil when
    /// they are the same layout.
    static func reorder(_ source: dnnl_memory_desc_t, _ destination: dnnl_memory_desc_t) -> Reorder? {
        if equal(source, destination) { return nil }
        var (s, d) = (source, destination)
        var pd: dnnl_primitive_desc_t?
        check(dnnl_reorder_primitive_desc_create(&pd, &s, engine, &d, engine, userScratchpad), "dnnl_reorder_primitive_desc_create")
        defer { dnnl_primitive_desc_destroy(pd) }
        return Reorder(primitive: primitive(pd!), scratchpad: scratchpad(pd!))
    }

    struct Reorder {
        let primitive: dnnl_primitive_t
        let scratchpad: dnnl_memory_t

        func destroy() { dnnl_primitive_destroy(primitive); dnnl_memory_destroy(scratchpad) }
    }
}

/// A oneDNN stream for one thread (a ConvNet lane), with oneDNN's OpenMP team
/// set to the network's thread count before each call.
final class OneDNNStream {
    let stream: dnnl_stream_t
    let threads: Int

    init(threads: Int) {
        var stream: dnnl_stream_t?
        OneDNN.check(dnnl_stream_create(&stream, OneDNN.engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        self.stream = stream!
        self.threads = threads
    }

    deinit { dnnl_stream_destroy(stream) }

    /// Runs `primitive` with `arguments` (`DNNL_ARG_*`, memory) on `threads` threads and waits.
    func execute(_ primitive: dnnl_primitive_t, _ arguments: [(Int32, dnnl_memory_t)]) {
        OneDNNThreads.set(threads)
        let args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
        OneDNN.check(dnnl_primitive_execute(primitive, stream, Int32(args.count), args), "dnnl_primitive_execute")
        OneDNN.check(dnnl_stream_wait(stream), "dnnl_stream_wait")
    }
}
