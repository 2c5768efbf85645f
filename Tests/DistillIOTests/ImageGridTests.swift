import Testing
import DistillIO

@Suite struct ImageGridTests {
    // Images of 2 columns x 3 rows, drawn at scale 2 with a 1-pixel separator.
    let imageWidth = 2, imageHeight = 3, scale = 2, separator = 1
    let separatorGrey: UInt8 = 77

    /// Checks that the cell at (row, column) shows `greys` (one per source
    /// pixel, row-major), each as a scale x scale block.
    func expectCell(_ grid: PNGImage, row: Int, column: Int, _ greys: [UInt8],
                    sourceLocation: SourceLocation = #_sourceLocation) {
        let left = separator + column * (imageWidth * scale + separator)
        let top = separator + row * (imageHeight * scale + separator)
        for y in 0..<imageHeight * scale {
            for x in 0..<imageWidth * scale {
                let expected = greys[(y / scale) * imageWidth + x / scale]
                #expect(grid.pixel(x: left + x, y: top + y) == [expected],
                        "cell (\(row), \(column)) pixel (\(x), \(y))", sourceLocation: sourceLocation)
            }
        }
    }

    /// True where (x, y) lies on a separator or the outer margin.
    func isSeparator(x: Int, y: Int) -> Bool {
        x % (imageWidth * scale + separator) < separator || y % (imageHeight * scale + separator) < separator
    }

    func render(_ cells: [[Float]?], rows: Int, columns: Int, _ greyScale: GreyScale) throws -> PNGImage {
        try ImageGrid.render(cells: cells, imageWidth: imageWidth, imageHeight: imageHeight,
                             rows: rows, columns: columns, scale: scale, separator: separator,
                             separatorGrey: separatorGrey, greyScale: greyScale)
    }

    @Test func sizeAndSeparatorsFollowTheLayout() throws {
        let image: [Float] = [0, 0.2, 0.4, 0.6, 0.8, 1]
        let grid = try render([image, image, image, image, image], rows: 2, columns: 3, .unitRange)
        // 3 cells of 4 px + 4 separators of 1 px; 2 cells of 6 px + 3 separators.
        #expect(grid.width == 16)
        #expect(grid.height == 15)
        #expect(grid.channels == 1)
        for y in 0..<grid.height {
            for x in 0..<grid.width where isSeparator(x: x, y: y) {
                #expect(grid.pixel(x: x, y: y) == [separatorGrey], "separator at (\(x), \(y))")
            }
        }
        // The sixth cell has no image: it is all background.
        expectCell(grid, row: 1, column: 2, [UInt8](repeating: separatorGrey, count: 6))
    }

    @Test func unitRangeIsWhiteInkOnBlack() throws {
        let grid = try render([[-0.5, 0, 0.25, 0.5, 1, 2], [.nan, .infinity, -.infinity, 0.1, 0.9, 0.002]],
                              rows: 1, columns: 2, .unitRange)
        expectCell(grid, row: 0, column: 0, [0, 0, 64, 128, 255, 255])
        expectCell(grid, row: 0, column: 1, [0, 255, 0, 26, 230, 1])
    }

    @Test func symmetricPerImageCentresZeroOnMidGrey() throws {
        let grid = try render([[-2, -1, 0, 1, 2, 0.5], [0, 0, .nan, 0, 0, 0], [0.5, -0.25, .nan, 0, .infinity, 0]],
                              rows: 3, columns: 1, .symmetricPerImage)
        expectCell(grid, row: 0, column: 0, [0, 64, 128, 191, 255, 159])
        expectCell(grid, row: 1, column: 0, [128, 128, 128, 128, 128, 128])
        // Each image has its own scale: here max |v| = 0.5.
        expectCell(grid, row: 2, column: 0, [255, 64, 128, 128, 255, 128])
    }

    @Test func robustGlobalUsesThePercentilesOfAllImages() throws {
        // 100 distinct values 0...99 spread over 17 images (the last one partly
        // NaN, which is ignored): the 1st percentile is 1 and the 99th is 98.
        var values = (0..<100).map { Float(($0 * 37) % 100) }
        values += [Float](repeating: .nan, count: 17 * 6 - 100)
        let cells: [[Float]?] = (0..<17).map { Array(values[$0 * 6..<$0 * 6 + 6]) }
        let grid = try render(cells, rows: 3, columns: 6, .robustGlobal)
        for (index, cell) in cells.enumerated() {
            let greys = cell!.map { v -> UInt8 in
                let t = min(max(v.isNaN ? 0 : v, 1), 98)
                return UInt8((255 * (t - 1) / 97).rounded())
            }
            expectCell(grid, row: index / 6, column: index % 6, greys)
        }
        // Cell 0, source pixel (1, 0) holds 37.
        #expect(grid.pixel(x: 1 + 1 * scale, y: 1) == [UInt8((255 * Float(37 - 1) / 97).rounded())])
    }

    @Test func emptyCellsInsideTheGridAreBackground() throws {
        let image: [Float] = [1, 1, 1, 1, 1, 1]
        let grid = try render([image, nil, image], rows: 3, columns: 1, .unitRange)
        expectCell(grid, row: 0, column: 0, [UInt8](repeating: 255, count: 6))
        expectCell(grid, row: 1, column: 0, [UInt8](repeating: separatorGrey, count: 6))
        expectCell(grid, row: 2, column: 0, [UInt8](repeating: 255, count: 6))
    }

    @Test func defaultSeparatorStandsOutFromTheBackground() throws {
        let image: [Float] = [0, 0, 0, 0, 0, 1]
        for (greyScale, expected) in [(GreyScale.unitRange, UInt8(128)), (.symmetricPerImage, 255), (.robustGlobal, 128)] {
            let grid = try ImageGrid.render(images: image, imageWidth: imageWidth, imageHeight: imageHeight,
                                            rows: 1, columns: 2, greyScale: greyScale)
            #expect(grid.width == 2 * 2 * 4 + 3 * 2)  // default scale 4, separator 2
            #expect(grid.pixel(x: 0, y: 0) == [expected])
            #expect(grid.pixel(x: 1, y: 1) == [expected])
            #expect(grid.pixel(x: 2, y: 2) != [expected])  // first pixel of the first cell
        }
    }

    @Test func flatImagesFillTheGridRowByRow() throws {
        let flat: [Float] = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        let grid = try ImageGrid.render(images: flat, imageWidth: imageWidth, imageHeight: imageHeight,
                                        rows: 2, columns: 2, scale: scale, separator: separator,
                                        separatorGrey: separatorGrey)
        expectCell(grid, row: 0, column: 1, [UInt8](repeating: 255, count: 6))
        expectCell(grid, row: 1, column: 0, [UInt8](repeating: 128, count: 6))
        expectCell(grid, row: 1, column: 1, [UInt8](repeating: separatorGrey, count: 6))
    }

    @Test func rejectsInconsistentInput() {
        let image: [Float] = [0, 0, 0, 0, 0, 0]
        #expect(throws: PNGError.self) { try render([image, image, image], rows: 1, columns: 2, .unitRange) }
        #expect(throws: PNGError.self) { try render([[0, 0, 0]], rows: 1, columns: 2, .unitRange) }
        #expect(throws: PNGError.self) { try render([image], rows: 0, columns: 2, .unitRange) }
        #expect(throws: PNGError.self) {
            try ImageGrid.render(images: [0, 0, 0, 0, 0, 0, 0], imageWidth: 2, imageHeight: 3, rows: 2, columns: 2)
        }
        #expect(throws: PNGError.self) {
            try ImageGrid.render(images: image, imageWidth: 2, imageHeight: 3, rows: 1, columns: 1, scale: Int.max)
        }
        #expect(throws: PNGError.self) {
            try ImageGrid.render(images: image, imageWidth: 2, imageHeight: 3, rows: 1, columns: Int.max)
        }
    }

    @Test func aWrittenGridReadsBackIdentical() throws {
        let folder = try PNGTestFolder()
        defer { folder.remove() }
        let grid = try render([[0, 0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9, 1, 0]], rows: 1, columns: 2, .unitRange)
        let path = folder.file("grid.png")
        try grid.write(to: path)
        #expect(try PNGImage.read(contentsOf: path) == grid)
    }

    @Test func classLayoutsForTheEye() {
        // One image per class: the classes across, wrapping every 10.
        let ten = ClassLayout(classes: 10, perClass: 1)
        #expect(ten.rows == 1 && ten.columns == 10)
        #expect(ten.cell(class: 7, image: 0) == (0, 7))
        let hundred = ClassLayout(classes: 100, perClass: 1)
        #expect(hundred.rows == 10 && hundred.columns == 10 && hundred.cell(class: 57, image: 0) == (5, 7))
        let three = ClassLayout(classes: 3, perClass: 1)
        #expect(three.rows == 1 && three.columns == 3)
        // Several: one row per class.
        let several = ClassLayout(classes: 10, perClass: 5)
        #expect(several.rows == 10 && several.columns == 5 && several.cell(class: 3, image: 4) == (3, 4))
        // A wide class wraps onto further rows; the next class starts a new row.
        let wide = ClassLayout(classes: 10, perClass: 25)
        #expect(wide.rowsPerClass == 3 && wide.rows == 30 && wide.columns == 10)
        #expect(wide.cell(class: 0, image: 24) == (2, 4) && wide.cell(class: 1, image: 0) == (3, 0))
    }

    @Test func imagesByClassFollowTheLayout() throws {
        // 4 classes of one 2x3 image each, image k all k/4: one row across.
        let images = (0..<4).flatMap { k in [Float](repeating: Float(k) / 4, count: 6) }
        let grid = try ImageGrid.render(images: images, imageWidth: imageWidth, imageHeight: imageHeight,
                                        layout: ClassLayout(classes: 4, perClass: 1), scale: scale, separator: separator,
                                        separatorGrey: separatorGrey)
        #expect(grid.width == 4 * 4 + 5 && grid.height == 6 + 2)
        for k in 0..<4 { expectCell(grid, row: 0, column: k, [UInt8](repeating: UInt8((255 * Float(k) / 4).rounded()), count: 6)) }
        // 2 classes of 3: one row per class, wrapped at 2 columns.
        let six = (0..<6).flatMap { k in [Float](repeating: Float(k) / 8, count: 6) }
        let wrapped = try ImageGrid.render(images: six, imageWidth: imageWidth, imageHeight: imageHeight,
                                           layout: ClassLayout(classes: 2, perClass: 3, maxColumns: 2), scale: scale,
                                           separator: separator, separatorGrey: separatorGrey)
        #expect(wrapped.width == 2 * 4 + 3 && wrapped.height == 4 * 6 + 5)
        expectCell(wrapped, row: 1, column: 0, [UInt8](repeating: UInt8((255 * Float(2) / 8).rounded()), count: 6))
        expectCell(wrapped, row: 1, column: 1, [UInt8](repeating: separatorGrey, count: 6))
        expectCell(wrapped, row: 2, column: 0, [UInt8](repeating: UInt8((255 * Float(3) / 8).rounded()), count: 6))
        #expect(throws: PNGError.self) {
            try ImageGrid.render(images: six, imageWidth: imageWidth, imageHeight: imageHeight, layout: ClassLayout(classes: 4, perClass: 1))
        }
    }

    /// With several images per class the classes stand `classGap` pixels further
    /// apart than their images (a wrapped class keeps its rows together); with one
    /// per class the grid is as without a gap.
    @Test func classesRunningDownAreSetApartByTheirGap() throws {
        let gap = 5
        let six = (0..<6).flatMap { k in [Float](repeating: Float(k) / 8, count: 6) }
        // 2 classes of 3 at 2 columns: rows 0-1 are class 0, rows 2-3 class 1.
        let grid = try ImageGrid.render(images: six, imageWidth: imageWidth, imageHeight: imageHeight,
                                        layout: ClassLayout(classes: 2, perClass: 3, maxColumns: 2, classGap: gap),
                                        scale: scale, separator: separator, separatorGrey: separatorGrey)
        #expect(ClassLayout(classes: 2, perClass: 3, maxColumns: 2, classGap: gap).classGapsHeight == gap)
        #expect(grid.width == 2 * 4 + 3 && grid.height == 4 * 6 + 5 + gap)
        let cellHeight = imageHeight * scale
        // Class 0's rows as without a gap; then `separator + gap` rows of separator; then class 1.
        #expect(grid.pixel(x: separator, y: separator + cellHeight + separator) == [UInt8((255 * Float(2) / 8).rounded())])
        let classOneTop = separator + 2 * (cellHeight + separator) + gap
        for y in (classOneTop - separator - gap)..<classOneTop {
            for x in 0..<grid.width { #expect(grid.pixel(x: x, y: y) == [separatorGrey], "gap at (\(x), \(y))") }
        }
        #expect(grid.pixel(x: separator, y: classOneTop) == [UInt8((255 * Float(3) / 8).rounded())])
        #expect(grid.pixel(x: separator, y: classOneTop - 1) == [separatorGrey])
        // One image per class: the classes run across, and the gap changes nothing.
        let four = (0..<4).flatMap { k in [Float](repeating: Float(k) / 4, count: 6) }
        let across = { (gap: Int) in
            try ImageGrid.render(images: four, imageWidth: self.imageWidth, imageHeight: self.imageHeight,
                                 layout: ClassLayout(classes: 4, perClass: 1, maxColumns: 2, classGap: gap),
                                 scale: self.scale, separator: self.separator, separatorGrey: self.separatorGrey)
        }
        #expect(try across(gap) == (try across(0)))
    }

    @Test func aColourGridIsWrittenAsRGBAndReadsBackThroughLibpng() throws {
        let folder = try PNGTestFolder()
        defer { folder.remove() }
        // Two 2x3 images, HWC: a red one and one whose pixels run through green and blue.
        let red: [Float] = (0..<6).flatMap { _ -> [Float] in [1, 0, 0] }
        let mixed: [Float] = (0..<6).flatMap { k -> [Float] in [0, Float(k) / 5, 1 - Float(k) / 5] }
        let grid = try ImageGrid.render(images: red + mixed, imageWidth: imageWidth, imageHeight: imageHeight, channels: 3,
                                        layout: ClassLayout(classes: 2, perClass: 1), scale: scale, separator: separator,
                                        separatorGrey: separatorGrey)
        let path = folder.file("colour.png")
        try grid.write(to: path)
        let back = try PNGImage.read(contentsOf: path)
        #expect(back.channels == 3 && back.width == 2 * 4 + 3 && back.height == 6 + 2)
        #expect(back == grid)
        #expect(back.pixel(x: 0, y: 0) == [separatorGrey, separatorGrey, separatorGrey])
        #expect(back.pixel(x: 1, y: 1) == [255, 0, 0])
        // Second cell, source pixel (1, 2) is k = 5: pure green... at (x 1, y 2) scaled.
        let left = 1 + 4 + 1
        #expect(back.pixel(x: left + 1 * scale, y: 1 + 2 * scale) == [0, 255, 0])
        #expect(back.pixel(x: left, y: 1) == [0, 0, 255])
        #expect(throws: PNGError.self) {
            try ImageGrid.render(images: red, imageWidth: imageWidth, imageHeight: imageHeight, channels: 2, rows: 1, columns: 1)
        }
    }
}
