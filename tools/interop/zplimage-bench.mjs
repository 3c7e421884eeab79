// zplimage-bench.mjs times the npm zpl-image encoder (the JavaScript
// reference for Z64/ACS ^GF data) on raw RGBA pixels, so the Go benchmark
// can report it next to ours, measured in the same run on the same image.
//
//	node zplimage-bench.mjs image.rgba width iterations [z64|acs]
//
// Prints one JSON line: {"iterations":N,"ns_per_op":T,"bytes":B}, where
// bytes is the length of the graphic data zpl-image returns.
import { createRequire } from "node:module";
import fs from "node:fs";

const require = createRequire(import.meta.url);
const zplImage = require("zpl-image");

const [, , file, width, iterations = "20", kind = "z64"] = process.argv;
if (!file || !width) {
	console.error("usage: node zplimage-bench.mjs image.rgba width iterations [z64|acs]");
	process.exit(2);
}
const rgba = fs.readFileSync(file);
const n = Math.max(1, +iterations);
// notrim keeps the full label: zpl-image crops white borders by default.
const opts = { black: 50, notrim: true };
const encode = kind === "acs" ? () => zplImage.rgbaToACS(rgba, +width, opts) : () => zplImage.rgbaToZ64(rgba, +width, opts);

let out = encode(); // warm up the JIT once, outside the timing
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
	out = encode();
}
const ns = Number(process.hrtime.bigint() - start) / n;
const data = kind === "acs" ? out.acs : out.z64;
console.log(JSON.stringify({ iterations: n, ns_per_op: Math.round(ns), bytes: data.length }));
