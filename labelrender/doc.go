// Package labelrender turns one shipping-label model into the forms a thermal
// printer or an integrator needs: native ZPL (printer fonts and barcodes), a
// 1-bit raster written as PNG or as a ZPL ^GF graphic (Z64 or ACS), and any
// carrier PNG converted to a ZPL graphic. It also checks raw ZPL arriving from
// outside before it may reach a printer.
//
// ZPL generation, the Z64/ACS encoders and the escaper are written by hand:
// no maintained Go library produces ZPL with correct Z64 CRCs and ^FH escaping.
// The package is pure: it returns errors and never logs.
package labelrender
