/// The elements of an IDX array in row-major order, typed by the file's type code.
///
/// Equality is the element types' own `==`: two float arrays holding NaN are not
/// equal. Compare `bitPattern`s to check NaN payloads.
public enum IDXElements: Sendable, Equatable {
    case ubyte([UInt8])
    case byte([Int8])
    case int16([Int16])
    case int32([Int32])
    case float32([Float])
    case float64([Double])

    /// The type code these elements are stored with.
    public var dataType: IDXDataType {
        switch self {
        case .ubyte: .ubyte
        case .byte: .byte
        case .int16: .int16
        case .int32: .int32
        case .float32: .float32
        case .float64: .float64
        }
    }

    /// The number of elements.
    public var count: Int {
        switch self {
        case .ubyte(let v): v.count
        case .byte(let v): v.count
        case .int16(let v): v.count
        case .int32(let v): v.count
        case .float32(let v): v.count
        case .float64(let v): v.count
        }
    }
}

/// An n-dimensional array as stored in an IDX file: a shape (rank 1...255, every
/// dimension 1...UInt32.max) and exactly shape-product elements, row-major.
public struct IDXArray: Sendable, Equatable {
    /// The dimensions, outermost first (for MNIST images: count, height, width).
    public let shape: [Int]
    /// The elements, row-major; `elements.count` is the product of `shape`.
    public let elements: IDXElements

    /// Creates an array after checking that IDX can store it: rank 1...255, every
    /// dimension in 1...UInt32.max, no overflow, and as many elements as the shape says.
    public init(shape: [Int], elements: IDXElements) throws(IDXError) {
        do throws(IDXError.Kind) {
            let expected = try IDXShape.elementCount(shape, byteWidth: elements.dataType.byteWidth)
            guard expected == elements.count else {
                throw IDXError.Kind.elementCountMismatch(expected: expected, found: elements.count)
            }
        } catch {
            throw IDXError(path: "<in-memory IDX array>", kind: error)
        }
        self.init(validatedShape: shape, elements: elements)
    }

    /// For callers that have already checked the shape against the elements.
    init(validatedShape shape: [Int], elements: IDXElements) {
        self.shape = shape
        self.elements = elements
    }

    /// The type code of the elements.
    public var dataType: IDXDataType { elements.dataType }

    /// The number of elements (the product of `shape`).
    public var count: Int { elements.count }

    /// The elements converted to Double (exact for every IDX type).
    public func doubles() -> [Double] {
        switch elements {
        case .ubyte(let v): v.map(Double.init)
        case .byte(let v): v.map(Double.init)
        case .int16(let v): v.map(Double.init)
        case .int32(let v): v.map(Double.init)
        case .float32(let v): v.map(Double.init)
        case .float64(let v): v
        }
    }

    /// The elements converted to Float: exact for ubyte, byte, int16 and float32;
    /// int32 beyond 2^24 and float64 are rounded, and float64 beyond the Float range
    /// becomes infinite.
    public func floats() -> [Float] {
        switch elements {
        case .ubyte(let v): v.map(Float.init)
        case .byte(let v): v.map(Float.init)
        case .int16(let v): v.map(Float.init)
        case .int32(let v): v.map(Float.init)
        case .float32(let v): v
        case .float64(let v): v.map(Float.init)
        }
    }

    /// The row-major index of the first NaN or infinite element; nil if every
    /// element is finite (always nil for integer types).
    public var firstNonFiniteIndex: Int? {
        switch elements {
        case .float32(let v): v.firstIndex { !$0.isFinite }
        case .float64(let v): v.firstIndex { !$0.isFinite }
        default: nil
        }
    }

    /// Throws `nonFiniteValue` naming `path` if any element is NaN or infinite.
    public func validateFinite(path: String) throws(IDXError) {
        if let index = firstNonFiniteIndex {
            throw IDXError(path: path, kind: .nonFiniteValue(index: index))
        }
    }
}

/// Shape rules shared by the reader and `IDXArray.init`.
enum IDXShape {
    /// Checks rank and dimensions and returns the element count; also checks that
    /// the byte count (`count * byteWidth`) fits in `Int`.
    static func elementCount(_ shape: [Int], byteWidth: Int) throws(IDXError.Kind) -> Int {
        guard !shape.isEmpty else { throw .rankZero }
        guard shape.count <= 255 else { throw .rankTooLarge(shape.count) }
        var count = 1
        var overflowed = false
        for (index, dimension) in shape.enumerated() {
            if dimension == 0 { throw .zeroDimension(index: index) }
            guard dimension > 0, UInt64(dimension) <= UInt64(UInt32.max) else {
                throw .dimensionOutOfRange(index: index, value: dimension)
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            overflowed = overflowed || overflow
            count = product
        }
        // Keep checking every dimension for 0 before reporting overflow.
        if overflowed || count.multipliedReportingOverflow(by: byteWidth).overflow {
            throw .dimensionProductOverflow(shape: shape)
        }
        return count
    }
}
