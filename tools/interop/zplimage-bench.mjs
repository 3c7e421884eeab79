// zplimage-bench.mjs times the npm zpl-image encoder (the JavaScript
// reference for Z64/ACS ^GF data) so the Go benchmark can report it next to
// ours, measured in the same run on the same image.
//
//	node zplimage-bench.mjs rgba image.rgba width iterations [z64|acs]
//	node zplimage-bench.mjs png image.png iterations [z64|acs]
//
// rgba times zpl-image alone on decoded pixels. png times what zpl-image's
// README ("pngjs (PNG Conversion)") documents for a PNG: PNG.sync.read from
// pngjs, then rgbaToZ64 (or rgbaToACS) on its pixels, from the file's bytes
// in memory, as the Go side is handed them.
//
// Prints one JSON line: {"iterations":N,"ns_per_op":T,"cpu_ns_per_op":C,
// "bytes":B,"pixels_sha256":H}: wall and CPU time (the process's user and
// system time, all its threads) per operation over N operations after a
// warm-up, the length of the graphic data zpl-image returns, and the hash
// of the RGBA pixels it was given (in png mode, pngjs's), so the caller can
// check that both pipelines start from the same pixels.
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import fs from "node:fs";

const require = createRequire(import.meta.url);
const zplImage = require("zpl-image");

const usage = () => {
	console.error("usage: node zplimage-bench.mjs rgba image.rgba width iterations [z64|acs]\n" +
		"       node zplimage-bench.mjs png image.png iterations [z64|acs]");
	process.exit(2);
};
const [, , mode, file, ...rest] = process.argv;
if (!file || (mode !== "rgba" && mode !== "png")) {
	usage();
}
const [width, iterations = "20", kind = "z64"] = mode === "rgba" ? rest : [undefined, ...rest];
if (mode === "rgba" && !width) {
	usage();
}
const input = fs.readFileSync(file);
const n = Math.max(1, +iterations);
// notrim keeps the full label: zpl-image crops white borders by default.
const opts = { black: 50, notrim: true };
const encodePixels = kind === "acs" ? zplImage.rgbaToACS : zplImage.rgbaToZ64;

let encode, pixels;
if (mode === "png") {
	const { PNG } = require("pngjs");
	encode = () => {
		const png = PNG.sync.read(input);
		return encodePixels(png.data, png.width, opts);
	};
	pixels = PNG.sync.read(input).data;
} else {
	encode = () => encodePixels(input, +width, opts);
	pixels = input;
}

// Warm-up outside the timing, so the JIT has compiled the hot loops.
let out;
for (let i = 0; i < 10; i++) {
	out = encode();
}
const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
	out = encode();
}
const ns = Number(process.hrtime.bigint() - start) / n;
const cpu = process.cpuUsage(cpu0);
const data = kind === "acs" ? out.acs : out.z64;
console.log(JSON.stringify({
	iterations: n,
	ns_per_op: Math.round(ns),
	cpu_ns_per_op: Math.round((cpu.user + cpu.system) * 1000 / n),
	bytes: data.length,
	pixels_sha256: createHash("sha256").update(pixels).digest("hex"),
}));
