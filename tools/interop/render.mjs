// render.mjs renders a ZPL document to PNG with zpl-renderer-js (zebrash
// compiled to WebAssembly), an independent renderer the Go tests use as an
// outside check. Usage (sizes in millimetres, density in dots per mm):
//
//	node render.mjs in.zpl out.png [width_mm=101.5] [height_mm=152.25] [dpmm=8]
import { ready } from "zpl-renderer-js";
import fs from "node:fs";

const [, , input, output, w = "101.5", h = "152.25", d = "8"] = process.argv;
if (!input || !output) {
	console.error("usage: node render.mjs in.zpl out.png [width_mm] [height_mm] [dpmm]");
	process.exit(2);
}
const { api } = await ready;
const png = await api.zplToBase64Async(fs.readFileSync(input, "utf8"), +w, +h, +d);
fs.writeFileSync(output, Buffer.from(png, "base64"));
