// serve.mjs is render.mjs as a long-lived process: the Go tests start it once
// per test binary and send every ZPL document through it, so node and the
// WebAssembly renderer start (and warm up) once, not once per label.
//
//	node serve.mjs
//
// Framing, both ways: one JSON header line, then exactly "bytes" bytes.
//
//	request:  {"id":1,"width_mm":101.5,"height_mm":152.25,"dpmm":8,"bytes":N}\n<N bytes of ZPL>
//	response: {"id":1,"bytes":M}\n<M bytes of PNG>
//	          {"id":1,"bytes":0,"error":"..."}\n   when the renderer refuses
//
// Requests are answered one at a time, in order. stdout carries only frames:
// anything the renderer prints goes to stderr.
import { ready } from "zpl-renderer-js";

const out = process.stdout.write.bind(process.stdout);
for (const k of ["log", "info", "debug", "warn"]) {
	console[k] = console.error;
}

const { api } = await ready;

async function answer(head, body) {
	try {
		const png = Buffer.from(await api.zplToBase64Async(body.toString("utf8"), head.width_mm, head.height_mm, head.dpmm), "base64");
		out(JSON.stringify({ id: head.id, bytes: png.length }) + "\n");
		out(png);
	} catch (err) {
		out(JSON.stringify({ id: head.id, bytes: 0, error: String(err && err.message ? err.message : err) }) + "\n");
	}
}

let buf = Buffer.alloc(0);
let head = null;
let queue = Promise.resolve();
process.stdin.on("data", (chunk) => {
	buf = Buffer.concat([buf, chunk]);
	for (;;) {
		if (head === null) {
			const nl = buf.indexOf(10);
			if (nl < 0) {
				return;
			}
			try {
				head = JSON.parse(buf.subarray(0, nl).toString("utf8"));
			} catch (err) {
				console.error("serve.mjs: bad request header:", err.message);
				process.exit(2);
			}
			buf = buf.subarray(nl + 1);
		}
		if (buf.length < head.bytes) {
			return;
		}
		const h = head;
		const body = Buffer.from(buf.subarray(0, h.bytes));
		buf = buf.subarray(h.bytes);
		head = null;
		queue = queue.then(() => answer(h, body));
	}
});
process.stdin.on("end", () => queue.then(() => process.exit(0)));
