// packbench bench page: the packer's view (#bench) and the admin's view
// (#admin). Plain JavaScript, no build step, no outside files. Everything
// comes from the daemon's API with the key the user enters once (kept in
// localStorage); live changes arrive on the Server-Sent-Events stream.
"use strict";

(function () {
	const KEY_STORE = "packbench.apiKey"; // the API key, or this screen's kiosk token
	const KIOSK_PREFIX = "pbk_"; // how a kiosk token starts (station.KioskTokenPrefix)
	const API = "/api/v1";
	const $ = (id) => document.getElementById(id);

	const state = {
		key: null,
		// trusted: no credential, and the bench lets its own display in
		// ([api] trust_loopback); kiosk: a paired screen or that display,
		// which may scan, weigh and print but not see the admin view.
		trusted: false,
		kiosk: false,
		health: null,
		flow: null,
		reading: null,
		printers: [],
		events: null,
		streamUp: false,
		streamDownSince: 0, // when the event stream was last lost (0: never up yet)
		labelShown: "", // label id whose preview is on screen
		labelURL: "",
		flowError: null, // a refused action (scan miss), shown until the next flow change
		timers: [],
		heard: null, // the last signal seq played (null: none seen yet)
		audio: null, // the AudioContext, made on the first beep
		flashTimer: 0,
	};

	// ---- API access ----------------------------------------------------

	class APIError extends Error {
		constructor(status, code, message, problem) {
			super(message);
			this.status = status;
			this.code = code;
			this.problem = problem || null; // the station's typed refusal (code, action, offer, job_id)
		}
	}

	async function call(method, path, body) {
		const headers = {};
		if (state.key) headers["Authorization"] = "Bearer " + state.key;
		const init = { method, headers, cache: "no-store" };
		if (body !== undefined) {
			headers["Content-Type"] = "application/json";
			init.body = JSON.stringify(body);
		}
		const resp = await fetch(path, init);
		const text = await resp.text();
		let data = null;
		if (text) {
			try { data = JSON.parse(text); } catch (e) { data = null; }
		}
		if (!resp.ok) {
			const err = (data && data.error) || {};
			if (resp.status === 401 && path !== API + "/health") onKeyRefused();
			throw new APIError(resp.status, err.code || "http_" + resp.status, err.message || resp.statusText, err.problem);
		}
		return data;
	}

	async function fetchImage(path) {
		const headers = state.key ? { "Authorization": "Bearer " + state.key } : {};
		const resp = await fetch(path, { headers, cache: "no-store" });
		if (!resp.ok) {
			let msg = resp.statusText;
			try { msg = (await resp.json()).error.message; } catch (e) { /* not JSON */ }
			throw new APIError(resp.status, "", msg);
		}
		return URL.createObjectURL(await resp.blob());
	}

	// ---- words for people ------------------------------------------------

	// Printer states the packer must act on, with what to do.
	const PRINTER_WORDS = {
		paper_out: ["The printer is out of labels.", "Load a new roll and close the lid."],
		head_open: ["The printer lid is open.", "Close the lid until it clicks."],
		ribbon_out: ["The printer ribbon has run out.", "Put in a new ribbon and close the lid."],
		paused: ["The printer is paused.", "Press the pause button on the printer."],
		buffer_full: ["The printer's memory is full.", "Wait a moment; if it stays, switch the printer off and on."],
		over_temp: ["The print head is too hot.", "Let it cool for a few minutes."],
		under_temp: ["The print head is too cold.", "Wait for the printer to warm up."],
		no_reply: ["The printer does not answer.", "Check its cable and power."],
		offline: ["The printer does not answer.", "Check its cable and power."],
		error: ["The printer reports an error.", "Look at the printer's display or lights."],
	};

	// Flow problems (station Problem codes), with what to do.
	const FLOW_WORDS = {
		no_order: ["No order for this barcode.", "Check the barcode, or scan the order's packing slip."],
		not_armed: ["No order is open.", "Scan an order first, then place the parcel."],
		carrier_error: ["The carrier refused the label.", "Check the order's address, or ask the office."],
		printer_problem: ["The label did not print.", "Fix the printer, then press Reprint."],
		label_error: ["The label could not be made.", "Ask the office to check the order."],
		order_problem: ["This order cannot be packed.", "It is cancelled or already complete. Scan another order."],
		bad_weight: ["The scale gave no usable weight.", "Lift the parcel and place it again."],
		internal: ["The bench could not save its work.", "Ask the office to look at the bench's log."],
		command_error: ["That command barcode did not work.", ""],
		already_labelled: ["Already labelled — Reprint?", ""],
		too_light: ["Too light to ship.", ""],
		uncertain: ["Did this label print?", ""],
	};

	// The station's problems that carry their own words (message and
	// action): shown as the station wrote them, with the offered buttons.
	const OWN_WORDS = ["already_labelled", "too_light", "uncertain"];

	// offerButtons are the buttons of a station problem's offer.
	function offerButtons(p) {
		if (!p.job_id) return [];
		switch (p.offer) {
		case "reprint": return [{ text: "Reprint", act: "reprint", job: p.job_id }];
		case "confirm_printed": return [{ text: "Yes, it printed", act: "mark-printed", job: p.job_id }, { text: "Print again", act: "retry", job: p.job_id }];
		}
		return [];
	}

	const SCALE_WORDS = {
		fault: ["The scale does not answer.", "Check its cable and power; the bench reconnects by itself."],
		over: ["Too heavy for the scale.", "Take the parcel off the scale."],
		under: ["The scale shows less than zero.", "Empty the scale and press Zero."],
		"needs-zero": ["The scale needs zeroing.", "Empty the scale and press Zero."],
		"needs-calibration": ["The scale needs calibration.", "Ask the office to calibrate it."],
	};

	const JOB_STATE_WORDS = {
		queued: "waiting", sending: "printing", sent: "sent", printed: "printed",
		failed: "failed", uncertain: "uncertain", cancelled: "cancelled",
	};

	function flowWords(f) {
		if (!f) return ["Connecting…", ""];
		const o = f.order;
		const of = f.package && f.count ? f.package + " of " + f.count : "";
		let step;
		switch (f.state) {
		case "idle":
			step = f.await_removal ? "Remove the parcel" : "Scan an order";
			break;
		case "armed":
			step = f.await_removal ? "Remove the parcel" : "Place the parcel";
			break;
		case "labelling":
			step = "Making the label…";
			break;
		case "printing":
			step = "Printing" + (of ? " " + of : "…");
			if (f.job_state === "queued" && printerBlocked()) step = "Waiting for the printer";
			break;
		case "printed":
			step = f.await_removal ? "Remove the parcel" : "Scan an order";
			break;
		default:
			step = f.state;
		}
		let detail = "";
		if (o) {
			detail = o.partner_order_id ? o.id + " (" + o.partner_order_id + ")" : o.id;
			const where = [o.name, [o.city, o.country].filter(Boolean).join(" ")].filter(Boolean).join(", ");
			if (where) detail += " · " + where;
			if (f.state === "armed" && !f.await_removal && of) detail += " · package " + of;
		}
		return [step, detail];
	}

	function printerBlocked() {
		return state.printers.some((p) => PRINTER_WORDS[p.state]);
	}

	// problems lists what the packer must know now, most urgent first.
	function problems() {
		const out = [];
		// A short gap (page load, a daemon restart) is not worth a red box.
		if (authed() && !state.streamUp && Date.now() - state.streamDownSince > 3000) {
			out.push({ id: "stream", title: "Lost the connection to the bench.", todo: "Wait a moment: the page reconnects by itself." });
		}
		for (const p of state.printers) {
			const w = PRINTER_WORDS[p.state];
			if (w) out.push({ id: "printer-" + p.name, title: w[0], todo: w[1], detail: state.printers.length > 1 ? "Printer " + p.name : "" });
		}
		const r = state.reading;
		if (r) {
			const w = SCALE_WORDS[r.status];
			if (w) out.push({ id: "scale", title: w[0], todo: w[1] });
		} else if (state.health && state.health.scale && state.health.scale.status === "no_reading") {
			out.push({ id: "scale", title: "No reading from the scale yet.", todo: "Check its cable and power." });
		}
		const f = state.flow;
		if (state.flowError) {
			out.push(state.flowError);
		} else if (f && f.problem) {
			const p = f.problem;
			const w = FLOW_WORDS[p.code] || ["Something went wrong.", ""];
			let title = w[0];
			let todo = w[1];
			let detail = "";
			if (OWN_WORDS.includes(p.code)) {
				// The station's sentence names the order, parcel or minimum.
				title = p.code === "too_light" ? p.message : w[0];
				// The parcel in the title, which stays in view: "Did label SO1001-1 print?"
				if (p.code === "uncertain" && p.label_id) title = "Did label " + p.label_id + " print?";
				detail = p.code === "too_light" ? "" : p.message.replace(/^Already labelled:\s*(.)/, (m, c) => c.toUpperCase());
				todo = p.action || "";
			} else if (["carrier_error", "printer_problem", "command_error"].includes(p.code) || !FLOW_WORDS[p.code]) {
				detail = p.message; // the carrier's own words
			}
			out.push({ id: "flow-" + p.code, title, todo, detail, buttons: offerButtons(p) });
		}
		if (f && f.state === "armed" && f.note) {
			// A code several open orders share: which one is armed (station FlowState.note).
			out.push({ id: "scan-note", info: true, title: "Several open orders share this code.", todo: f.note });
		}
		if (f && f.state === "armed" && !f.await_removal && r && r.status === "motion") {
			out.push({ id: "motion", info: true, title: "Hold still…", todo: "The scale is settling; the label prints when the weight is steady." });
		}
		return out;
	}

	// ---- rendering -------------------------------------------------------

	function setText(id, text) {
		const el = $(id);
		if (el.textContent !== text) el.textContent = text;
	}

	function renderHealth() {
		const h = state.health;
		const dot = $("health-dot");
		if (!h) {
			dot.className = "dot down";
			setText("health-text", "The bench does not answer");
			return;
		}
		dot.className = "dot " + h.status;
		let text = { ok: "Bench OK", degraded: "Needs attention", down: "Bench down" }[h.status] || h.status;
		if (h.problems && h.problems.length) text += ": " + h.problems.join("; ");
		setText("health-text", text);
	}

	function renderWeight() {
		const r = state.reading;
		const st = $("stability");
		if (!r) {
			setText("weight-value", "–");
			setText("weight-unit", "");
			st.className = "stability none";
			setText("stability", "No reading");
			return;
		}
		const shown = r.display || "";
		const cut = shown.lastIndexOf(" ");
		const hasWeight = ["stable", "motion", "zero"].includes(r.status) && shown !== "";
		setText("weight-value", hasWeight ? (cut > 0 ? shown.slice(0, cut) : shown) : "–");
		setText("weight-unit", hasWeight && cut > 0 ? shown.slice(cut + 1) : "");
		const label = {
			stable: "Stable", motion: "Moving", zero: "Empty", fault: "No scale",
			over: "Too heavy", under: "Below zero", "needs-zero": "Press Zero", "needs-calibration": "Calibrate",
		}[r.status] || r.status;
		const cls = { stable: "stable", motion: "motion", zero: "zero", under: "motion", over: "fault" }[r.status] || "fault";
		st.className = "stability " + cls;
		setText("stability", label);
	}

	// ---- the status light and the beeps (docs/headless.md) -------------
	// The same signals the bench's LED and buzzer give: the flow state's
	// led/blinks and its last signal (signal.beep: on/off milliseconds).

	const LED_WORDS = {
		ready: "ready: scan an order", armed: "armed: place the parcel",
		working: "working: labelling or printing", attention: "needs attention",
	};
	// Attention: blinks flashes of 150 ms (250 ms apart), then 1.5 s dark.
	const FLASH_ON = 150, FLASH_OFF = 250, FLASH_PAUSE = 1500;

	function renderLight() {
		const f = state.flow;
		const light = $("light");
		const led = (f && f.led) || "";
		const blinks = (f && f.blinks) || 0;
		if (light.dataset.led === led && light.dataset.blinks === String(blinks)) return;
		light.dataset.led = led;
		light.dataset.blinks = String(blinks);
		light.className = "light " + led;
		let words = LED_WORDS[led] || "unknown";
		if (led === "attention") words += ", blink code " + blinks + " (" + ((f.attention || []).join(", ")) + ")";
		light.setAttribute("aria-label", "Status light: " + words);
		light.title = "Status light: " + words;
		clearTimeout(state.flashTimer);
		light.classList.remove("on");
		if (led !== "attention") return;
		let n = 0;
		const step = () => {
			if (light.dataset.led !== "attention") return;
			const on = !light.classList.contains("on");
			light.classList.toggle("on", on);
			if (on) n++;
			const wait = on ? FLASH_ON : (n >= blinks ? FLASH_PAUSE : FLASH_OFF);
			if (!on && n >= blinks) n = 0;
			state.flashTimer = setTimeout(step, wait);
		};
		step();
	}

	// beep plays a signal once (the page's copy of the buzzer), from its
	// seq on; the first state seen after loading only sets the mark.
	function beep(f) {
		const sig = f && f.signal;
		if (state.heard === null) { // the state when the page opened: old news
			state.heard = sig ? sig.seq : 0;
			return;
		}
		if (!sig || sig.seq <= state.heard) return;
		state.heard = sig.seq;
		document.body.dataset.beep = sig.seq + ":" + sig.pattern;
		try {
			const Ctx = window.AudioContext || window.webkitAudioContext;
			if (!Ctx) return;
			state.audio = state.audio || new Ctx();
			const ac = state.audio;
			if (ac.state === "suspended") ac.resume();
			const osc = ac.createOscillator();
			const gain = ac.createGain();
			osc.type = "square";
			osc.frequency.value = sig.kind === "ok" ? 2300 : 900;
			gain.gain.value = 0;
			osc.connect(gain).connect(ac.destination);
			let t = ac.currentTime + 0.01;
			(sig.beep || []).forEach((ms, i) => {
				gain.gain.setValueAtTime(i % 2 === 0 ? 0.2 : 0, t);
				t += ms / 1000;
			});
			gain.gain.setValueAtTime(0, t);
			osc.start();
			osc.stop(t + 0.05);
		} catch (e) { /* no sound on this device: the light and the words remain */ }
	}

	function renderFlow() {
		renderLight();
		const [step, detail] = flowWords(state.flow);
		setText("flow-step", step);
		setText("flow-detail", detail);
		const f = state.flow;
		const jobLive = f && f.job_id && ["queued", "failed", "uncertain"].includes(f.job_state);
		$("btn-cancel").disabled = !(f && (jobLive || f.state === "armed"));
		$("btn-reprint").disabled = !(f && f.job_id && f.label_id);
		$("btn-test").disabled = state.printers.length === 0;
		// The last label stays on screen (also after a reload) until the next.
		if (f && f.label_id && f.label_id !== state.labelShown) {
			showLabel(f.label_id, f.tracking_number);
		}
	}

	function renderProblems() {
		const box = $("problems");
		const list = problems();
		const sig = JSON.stringify(list);
		if (box.dataset.sig === sig) return;
		box.dataset.sig = sig;
		box.textContent = "";
		for (const p of list) {
			const div = document.createElement("div");
			div.className = "problem" + (p.info ? " info" : "");
			div.dataset.problem = p.id;
			const strong = document.createElement("strong");
			strong.textContent = p.title;
			div.appendChild(strong);
			const offers = p.buttons || [];
			if (offers.length) {
				// The buttons right under the title, so they stay in view on
				// the 800×480 screen; they say the next step themselves.
				const row = el("div", { class: "problem-actions" });
				for (const b of offers) {
					const btn = el("button", { type: "button", text: b.text });
					btn.dataset.offer = b.act;
					btn.addEventListener("click", () => offerAct(b));
					row.appendChild(btn);
				}
				div.appendChild(row);
			}
			const todo = offers.length ? p.detail : [p.detail, p.todo].filter(Boolean).join(" — ");
			if (todo) div.appendChild(document.createTextNode(todo));
			box.appendChild(div);
		}
	}

	async function showLabel(labelID, tracking) {
		state.labelShown = labelID;
		const img = $("label-img");
		try {
			const url = await fetchImage(API + "/labels/" + encodeURIComponent(labelID) + ".png");
			if (state.labelShown !== labelID) { URL.revokeObjectURL(url); return; }
			if (state.labelURL) URL.revokeObjectURL(state.labelURL);
			state.labelURL = url;
			img.src = url;
			img.alt = "Label " + labelID + (tracking ? ", tracking number " + tracking : "");
			img.hidden = false;
			setText("label-caption", tracking || labelID);
			$("label-caption").title = "Label " + labelID;
		} catch (e) {
			img.hidden = true;
			setText("label-caption", "No preview for " + labelID + ": " + e.message);
		}
	}

	function renderAll() {
		renderHealth();
		renderWeight();
		renderFlow();
		renderProblems();
	}

	// ---- focus: the scan field keeps it ---------------------------------

	function isPacker() { return location.hash !== "#admin"; }

	// refocus puts the cursor back into the scan field, so a keyboard-wedge
	// scanner always types there. force: after a button; otherwise only when
	// nothing else has focus (a keyboard user tabbing through the buttons, or
	// someone typing in the admin view, keeps theirs).
	function refocus(force) {
		if (!authed() || !isPacker()) return;
		const a = document.activeElement;
		if (force || !a || a === document.body || a === document.documentElement) {
			$("scan").focus({ preventScroll: true });
		}
	}

	// ---- actions -----------------------------------------------------------

	function say(msg, bad) {
		const el = $("action-msg");
		el.textContent = msg;
		el.className = "action-msg" + (bad ? " bad" : "");
		clearTimeout(say.t);
		say.t = setTimeout(() => { el.textContent = ""; }, 6000);
	}

	async function act(what, fn) {
		try {
			const msg = await fn();
			if (msg) say(msg, false);
		} catch (e) {
			say(what + ": " + e.message, true);
		} finally {
			refocus(true);
		}
	}

	// offerAct carries out a problem's offered button on its job.
	function offerAct(b) {
		const words = { reprint: "Reprint", "mark-printed": "Printed", retry: "Print again" };
		const id = encodeURIComponent(b.job);
		return act(words[b.act], async () => {
			switch (b.act) {
			case "reprint":
				return "Reprinting (" + (await call("POST", API + "/jobs/" + id + "/reprint", {})).id + ")";
			case "mark-printed":
				await call("POST", API + "/jobs/" + id + "/mark-printed", { reason: "confirmed printed at the bench" });
				return "Marked printed";
			case "retry":
				await call("POST", API + "/jobs/" + id + "/retry", { reason: "printed again at the bench" });
				return "Printing again";
			}
			return "";
		});
	}

	async function scan(code) {
		code = code.trim();
		if (!code) return;
		try {
			state.flowError = null;
			// The step ("Place the parcel") is the answer; no extra message.
			state.flow = await call("POST", API + "/flow/scan", { code });
		} catch (e) {
			if (e.problem && e.code !== "no_order") {
				// The station's own refusal (already labelled…): shown with its offer.
				state.flow = Object.assign({}, state.flow, { problem: e.problem });
			} else if (e.code === "no_order") {
				state.flowError = { id: "flow-no_order", title: FLOW_WORDS.no_order[0], todo: FLOW_WORDS.no_order[1], detail: "Scanned: " + code };
			} else {
				state.flowError = { id: "flow-" + e.code, title: "That scan did not work.", todo: "", detail: e.message };
			}
		}
		renderAll();
	}

	// flowPrinter is the printer the flow prints on: [flow] printer, else
	// the first one configured.
	function flowPrinter() {
		return state.flowPrinter || (state.printers.length ? state.printers[0].name : "");
	}

	async function loadBenchConfig() {
		try {
			const c = await call("GET", API + "/config");
			state.benchName = (c.bench && c.bench.name) || "";
			state.flowPrinter = (c.flow && c.flow.printer) || "";
			setText("bench-name", state.benchName);
			document.title = "packbench " + state.benchName;
		} catch (e) { /* the banner and the problems say enough */ }
	}

	// confirmed asks before a button acts: the first press turns it into
	// the question ("Tare now? Press again"), a second press within 4 s
	// acts. No dialog: kiosk browsers may block them, and a glove can
	// press the same spot twice.
	function confirmed(btn, question) {
		if (btn.dataset.ask === "1") {
			clearTimeout(Number(btn.dataset.timer));
			btn.dataset.ask = "";
			btn.textContent = btn.dataset.label;
			btn.classList.remove("confirm");
			return true;
		}
		btn.dataset.label = btn.dataset.label || btn.textContent;
		btn.dataset.ask = "1";
		btn.textContent = question + " Press again";
		btn.classList.add("confirm");
		btn.dataset.timer = String(setTimeout(() => {
			btn.dataset.ask = "";
			btn.textContent = btn.dataset.label;
			btn.classList.remove("confirm");
		}, 4000));
		return false;
	}

	function wireActions() {
		wireFlowCreds();
		wireKiosks();
		$("pair-form").addEventListener("submit", (ev) => {
			ev.preventDefault();
			pairScreen($("pair-input").value);
		});
		$("scan-form").addEventListener("submit", (ev) => {
			ev.preventDefault();
			const input = $("scan");
			const code = input.value;
			input.value = "";
			scan(code).finally(() => refocus(true));
		});
		$("btn-reprint").addEventListener("click", () => act("Reprint", async () => {
			const f = state.flow;
			if (!f || !f.job_id) return "Nothing to reprint yet.";
			const job = await call("POST", API + "/jobs/" + f.job_id + "/reprint", {});
			return "Reprinting (" + job.id + ")";
		}));
		$("btn-cancel").addEventListener("click", () => confirmed($("btn-cancel"), "Cancel this print?") && act("Cancel", async () => {
			const f = state.flow;
			if (!f) return "";
			if (f.job_id && ["queued", "failed", "uncertain"].includes(f.job_state)) {
				await call("POST", API + "/jobs/" + f.job_id + "/cancel", { reason: "cancelled at the bench" });
				if (f.state === "armed") state.flow = await call("POST", API + "/flow/disarm");
				return "Print cancelled";
			}
			if (f.state === "armed") {
				state.flow = await call("POST", API + "/flow/disarm");
				renderAll();
				return "Order closed";
			}
			return "Nothing to cancel.";
		}));
		$("btn-tare").addEventListener("click", () => confirmed($("btn-tare"), "Tare now?") && act("Tare", async () => {
			await call("POST", API + "/scale/tare");
			return "Tared";
		}));
		$("btn-zero").addEventListener("click", () => confirmed($("btn-zero"), "Zero now?") && act("Zero", async () => {
			await call("POST", API + "/scale/zero");
			return "Zeroed";
		}));
		$("btn-test").addEventListener("click", () => act("Test print", async () => {
			const name = flowPrinter();
			if (!name) return "No printer configured.";
			const job = await call("POST", API + "/printers/" + encodeURIComponent(name) + "/test");
			return "Test label sent to " + name + " (" + job.id + ")";
		}));
		$("forget-key").addEventListener("click", () => {
			localStorage.removeItem(KEY_STORE);
			stop();
			state.key = null;
			state.kiosk = false;
			showGate("");
		});
		$("key-form").addEventListener("submit", (ev) => {
			ev.preventDefault();
			const key = $("key-input").value.trim();
			tryKey(key);
		});
		window.addEventListener("hashchange", () => { if (!pairFromAddress()) showView(); });
		// A click on empty space must not strand the scanner without a field.
		document.addEventListener("click", (ev) => {
			if (ev.target === document.body || ev.target.closest(".step-box, .weight-box, .preview, .problems")) refocus(true);
		});
	}

	// ---- key, views, live data --------------------------------------------

	function showGate(msg) {
		$("keygate").hidden = false;
		$("packer").hidden = true;
		$("admin").hidden = true;
		$("tabs").hidden = true;
		$("forget-key").hidden = true;
		setText("key-error", state.kiosk ? "" : msg);
		setText("pair-error", state.kiosk ? msg : "");
		$("key-input").value = "";
		$("pair-input").value = "";
		// A bench screen's scanner types a scanned QR code here.
		$("pair-input").focus();
	}

	function authed() { return !!state.key || state.trusted; }

	// pairCode is the code in what was typed or scanned: the bare code
	// ("1234 5678") or the QR code's address (…/#pair=12345678).
	function pairCode(text) {
		const m = /#pair=([0-9 ]+)/.exec(text);
		return (m ? m[1] : text).replace(/\s+/g, "");
	}

	async function pairScreen(text) {
		const code = pairCode(text.trim());
		if (!/^[0-9]{8}$/.test(code)) {
			setText("pair-error", "A pairing code has 8 digits.");
			return;
		}
		setText("pair-error", "Pairing…");
		try {
			const k = await call("POST", API + "/kiosks/pair", { code });
			setText("pair-error", "");
			await tryKey(k.token);
		} catch (e) {
			$("pair-input").value = "";
			setText("pair-error", e.status === 401
				? "That code did not work: it is wrong, used or expired. Make a new one on the admin page."
				: "The bench did not answer: " + e.message);
		}
	}

	function onKeyRefused() {
		if (!state.key) return;
		localStorage.removeItem(KEY_STORE);
		stop();
		state.key = null;
		showGate(state.kiosk ? "The bench no longer accepts this screen (its pairing was revoked). Pair it again."
			: "The bench did not accept that key. Enter it again.");
	}

	async function tryKey(key) {
		if (key.length < 32) {
			setText("key-error", "An API key has at least 32 characters.");
			return;
		}
		state.key = key;
		state.kiosk = key.startsWith(KIOSK_PREFIX);
		try {
			const p = await call("GET", API + "/printers");
			state.printers = p.printers || [];
		} catch (e) {
			if (e.status === 401) return; // onKeyRefused showed the gate
			state.key = null;
			setText("key-error", "The bench did not answer: " + e.message);
			return;
		}
		localStorage.setItem(KEY_STORE, key);
		$("key-input").value = "";
		start();
	}

	function showView() {
		if (!authed()) return;
		const admin = location.hash === "#admin" && !state.kiosk;
		$("tab-admin").hidden = state.kiosk; // a bench screen has no admin view
		$("keygate").hidden = true;
		$("tabs").hidden = false;
		$("forget-key").hidden = !admin; // not on the packer's screen, where a tap would lock it
		$("packer").hidden = admin;
		$("admin").hidden = !admin;
		$("tab-bench").setAttribute("aria-current", admin ? "false" : "page");
		$("tab-admin").setAttribute("aria-current", admin ? "page" : "false");
		if (admin) {
			refreshAdmin();
		} else {
			refocus(true);
		}
	}

	function start() {
		showView();
		openStream();
		if (!state.kiosk) loadBenchConfig(); // the configuration is the admin's
		refreshPrinters();
		state.timers.push(setInterval(refreshPrinters, 2000));
		state.timers.push(setInterval(() => { if (!isPacker()) refreshAdmin(); }, 5000));
		renderAll();
	}

	function stop() {
		if (state.events) state.events.close();
		state.events = null;
		state.streamUp = false;
		for (const t of state.timers) clearInterval(t);
		state.timers = [];
	}

	function openStream() {
		state.streamDownSince = Date.now();
		const es = new EventSource(API + "/scale/events" + (state.key ? "?key=" + encodeURIComponent(state.key) : ""));
		state.events = es;
		es.addEventListener("open", () => { state.streamUp = true; renderProblems(); });
		es.addEventListener("error", () => {
			if (state.streamUp) state.streamDownSince = Date.now();
			state.streamUp = false;
			renderProblems();
			// The browser retries a dropped connection by itself, but not an
			// error answer: a refused key (the check below shows the key form)
			// or a bench that was restarting. Try again after a pause.
			if (es.readyState === EventSource.CLOSED) {
				setTimeout(() => {
					if (state.events !== es) return;
					call("GET", API + "/printers").then(() => { if (state.events === es) openStream(); }, () => {});
				}, 3000);
			}
		});
		es.addEventListener("reading", (ev) => {
			state.reading = JSON.parse(ev.data);
			renderWeight();
			renderProblems();
			refocus(false);
		});
		es.addEventListener("flow", (ev) => {
			const f = JSON.parse(ev.data);
			// A refused scan stays on screen until the flow moves on; the
			// station's own no_order problem for it keeps the scanned code.
			if (state.flowError && (!f.problem || "flow-" + f.problem.code !== state.flowError.id)) state.flowError = null;
			state.flow = f;
			beep(f);
			renderFlow();
			renderProblems();
			refocus(false);
		});
		es.addEventListener("job", () => {
			refreshPrinters();
			if (!isPacker()) scheduleAdmin();
		});
	}

	async function refreshHealth() {
		try {
			// Health answers without a key; with it, it also says why a link is down.
			const headers = state.key && !state.kiosk ? { "Authorization": "Bearer " + state.key } : {};
			const resp = await fetch(API + "/health", { headers, cache: "no-store" });
			state.health = await resp.json();
		} catch (e) {
			state.health = null;
		}
		renderHealth();
	}

	async function refreshPrinters() {
		if (!authed()) return;
		let changed = false;
		try {
			const p = await call("GET", API + "/printers");
			const before = state.printers.map((x) => x.name + x.state).join();
			state.printers = p.printers || [];
			changed = before !== state.printers.map((x) => x.name + x.state).join();
		} catch (e) {
			renderProblems(); // a lost stream shows once its grace time is over
			return;
		}
		if (changed) refreshHealth(); // the banner says it at once too
		renderFlow();
		renderProblems();
		if (!isPacker()) renderPrinters();
	}

	// ---- admin view -----------------------------------------------------------

	let adminTimer = 0;
	function scheduleAdmin() {
		clearTimeout(adminTimer);
		adminTimer = setTimeout(refreshAdmin, 300);
	}

	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (k === "class") e.className = v;
			else if (k === "text") e.textContent = v;
			else e.setAttribute(k, v);
		}
		for (const k of kids) {
			if (k == null) continue;
			e.appendChild(typeof k === "string" ? document.createTextNode(k) : k);
		}
		return e;
	}

	function fmtTime(t) {
		if (!t) return "";
		const d = new Date(t);
		if (isNaN(d)) return t;
		return d.toLocaleString(undefined, { hour12: false });
	}

	function fmtClock(t) {
		const d = new Date(t);
		if (isNaN(d)) return "";
		return d.toLocaleTimeString(undefined, { hour12: false });
	}

	function badgeClass(s) {
		if (["ready", "printed", "sent", "connected", "ok", "stable", "labelled", "shipped"].includes(s)) return "badge ok";
		if (["queued", "sending", "printing", "connecting", "degraded", "motion", "unknown", "zero"].includes(s)) return "badge warn";
		return "badge bad";
	}

	function facts(dl, rows) {
		dl.textContent = "";
		for (const [k, v] of rows) {
			dl.appendChild(el("dt", { text: k }));
			dl.appendChild(typeof v === "string" ? el("dd", { text: v }) : el("dd", null, v));
		}
	}

	async function refreshAdmin() {
		if (!state.key || state.kiosk) return;
		await refreshHealth();
		const [jobs, ships, config, hooks, shopify, creds, firmware, kiosks] = await Promise.all([
			loadRecent(API + "/jobs", "jobs"),
			loadRecent(API + "/shipments", "shipments"),
			call("GET", API + "/config").catch((e) => ({ error: e.message })),
			loadWebhooks(),
			call("GET", API + "/shopify").catch((e) => ({ error: e.message })),
			call("GET", API + "/flow-credentials").catch((e) => ({ error: e.message })),
			call("GET", API + "/firmware").catch((e) => ({ error: e.message })),
			call("GET", API + "/kiosks").catch((e) => ({ error: e.message })),
		]);
		renderBenchFacts();
		renderShopify(shopify);
		renderPrinters();
		renderJobs(jobs);
		renderShipments(ships);
		renderWebhooks(hooks);
		renderFlowCreds(creds);
		renderKiosks(kiosks);
		renderConfig(config);
		renderFirmware(firmware);
		refreshCommands();
	}

	// loadWebhooks reads the subscriptions and each one's delivery log.
	async function loadWebhooks() {
		try {
			const r = await call("GET", API + "/webhooks");
			const subs = r.webhooks || [];
			const logs = await Promise.all(subs.map((w) =>
				call("GET", API + "/webhooks/" + encodeURIComponent(w.id) + "/deliveries").then((d) => d.deliveries || []).catch(() => [])));
			return subs.map((w, i) => ({ sub: w, log: logs[i] }));
		} catch (e) {
			return { error: e.message };
		}
	}

	function renderWebhooks(hooks) {
		const tb = $("hook-rows");
		tb.textContent = "";
		if (hooks.error) {
			tb.appendChild(el("tr", null, el("td", { colspan: "7", class: "empty", text: "Could not load webhooks: " + hooks.error })));
			return;
		}
		for (const { sub, log } of hooks) {
			const last = log.length ? log[log.length - 1] : null;
			const failed = log.filter((d) => d.error).length;
			let result = "";
			if (last) result = last.error ? (last.status ? last.status + " " : "") + last.error : String(last.status) + " in " + last.duration_ms + " ms";
			tb.appendChild(el("tr", null,
				el("td", { text: sub.id }),
				el("td", { text: sub.kind }),
				el("td", { text: sub.url }),
				el("td", { text: (sub.topics || []).join(", ") }),
				el("td", { text: last ? fmtTime(last.time) + " · event " + last.event_id + (last.attempt > 1 ? " · attempt " + last.attempt : "") : "none yet" }),
				el("td", null, last ? el("span", { class: last.error ? "badge bad" : "badge ok", text: result }) : null,
					failed ? el("div", { text: failed + " of the last " + log.length + " attempts failed" }) : null),
				el("td", { text: last && last.next_retry ? fmtTime(last.next_retry) : "" })));
		}
		if (!hooks.length) tb.appendChild(el("tr", null, el("td", { colspan: "7", class: "empty", text: "No subscriptions." })));
	}

	// ---- bench screens (kiosk tokens) ------------------------------------------

	const makePairing = (name) => call("POST", API + "/kiosks/pairing", name ? { name } : {});
	const revokeKiosk = (id) => call("DELETE", API + "/kiosks/" + encodeURIComponent(id));

	function kioskSay(msg) { $("kiosk-msg").textContent = msg; }

	function renderKiosks(r) {
		renderRevocable($("kiosk-rows"), r.error ? r : r.kiosks || [], {
			what: "the screens", none: "No screens paired yet.", verb: "Revoke", attr: "data-kiosk-id",
			id: (k) => k.id,
			cells: (k) => [el("td", { text: k.name }), el("td", { text: fmtTime(k.created_at) })],
			revoke: async (k) => { await revokeKiosk(k.id); return "Revoked " + k.name + ": it must be paired again to work."; },
			say: kioskSay, focus: "kiosk-name",
		});
	}

	function wireKiosks() {
		$("kiosk-form").addEventListener("submit", async (ev) => {
			ev.preventDefault();
			const input = $("kiosk-name");
			try {
				const pc = await makePairing(input.value.trim());
				$("kiosk-code").textContent = pc.code.slice(0, 4) + " " + pc.code.slice(4);
				$("kiosk-code").dataset.code = pc.code;
				$("kiosk-expires").textContent = "for " + pc.name + ", valid until " + fmtClock(pc.expires_at) + ", once";
				$("kiosk-qr").src = "data:image/png;base64," + pc.qr_png;
				$("kiosk-qr").alt = "QR code for pairing code " + pc.code;
				$("kiosk-code-box").hidden = false;
				input.value = "";
				kioskSay("On the bench screen, type the code or scan the QR code.");
			} catch (e) {
				kioskSay("Pairing code: " + e.message);
			}
		});
	}

	// ---- Flow credentials (Packrooster endpoints) ------------------------------

	const createFlowCred = (name) => call("POST", API + "/flow-credentials", { name });
	const deleteFlowCred = (id) => call("DELETE", API + "/flow-credentials/" + encodeURIComponent(id));

	function flowCredSay(msg) { $("flowcred-msg").textContent = msg; }

	function renderFlowCreds(r) {
		$("flowcred-endpoint").textContent = location.origin + "/api/label-fulfill";
		renderRevocable($("flowcred-rows"), r.error ? r : r.credentials || [], {
			what: "the credentials", none: "No Flow credentials yet.", verb: "Delete", attr: "data-client-id",
			id: (c) => c.client_id,
			cells: (c) => [el("td", { text: c.name }), el("td", null, el("code", { text: c.client_id })), el("td", { text: fmtTime(c.created_at) })],
			revoke: async (c) => { await deleteFlowCred(c.client_id); return "Deleted " + c.name + ": its secret no longer works."; },
			say: flowCredSay, focus: "flowcred-name",
		});
	}

	// renderRevocable fills a table of credentials (Flow credentials, bench
	// screens), each row with a button that revokes it; items is the list or
	// {error}. The row of the focused button is left alone.
	function renderRevocable(tb, items, o) {
		if (tb.contains(document.activeElement)) return;
		tb.textContent = "";
		const cols = String(tb.closest("table").querySelectorAll("thead th").length);
		if (items.error) {
			tb.appendChild(el("tr", null, el("td", { colspan: cols, class: "empty", text: "Could not load " + o.what + ": " + items.error })));
			return;
		}
		if (!items.length) {
			tb.appendChild(el("tr", null, el("td", { colspan: cols, class: "empty", text: o.none })));
			return;
		}
		for (const it of items) {
			const b = el("button", { type: "button", class: "small", "aria-label": o.verb + " " + it.name, text: o.verb });
			b.addEventListener("click", async () => {
				try {
					o.say(await o.revoke(it));
				} catch (e) {
					o.say(o.verb + ": " + e.message);
				}
				$(o.focus).focus();
				scheduleAdmin();
			});
			tb.appendChild(el("tr", { [o.attr]: o.id(it) }, ...o.cells(it), el("td", null, b)));
		}
	}

	function wireFlowCreds() {
		$("flowcred-form").addEventListener("submit", async (ev) => {
			ev.preventDefault();
			const input = $("flowcred-name");
			try {
				const c = await createFlowCred(input.value.trim());
				$("flowcred-id").textContent = c.client_id;
				$("flowcred-secret").textContent = c.client_secret;
				$("flowcred-new").hidden = false;
				input.value = "";
				flowCredSay("Created " + c.name + ".");
			} catch (e) {
				flowCredSay("Create: " + e.message);
			}
			scheduleAdmin();
		});
	}

	// renderFirmware shows the installed versions and how the last update
	// ended (GET /api/v1/firmware); updates are applied with the CLI, the
	// API or MQTT.
	function renderFirmware(fw) {
		const dl = $("firmware-facts");
		if (fw.error) {
			facts(dl, [["Status", fw.error]]);
			return;
		}
		const name = (v) => v || "packaged";
		const rows = [["Running", fw.running], ["Installed", name(fw.current)], ["Previous", name(fw.previous)]];
		if (fw.pending) rows.push(["Pending", el("span", { class: "badge warn", text: fw.pending.version + " (not yet healthy)" })]);
		if (fw.floor) rows.push(["Lowest allowed", fw.floor]);
		if (fw.last) {
			const cls = fw.last.result === "committed" ? "badge ok" : "badge bad";
			rows.push(["Last update", el("span", null, el("span", { class: cls, text: fw.last.result }), " " + fw.last.version + (fw.last.reason ? ": " + fw.last.reason : ""))]);
		}
		facts(dl, rows);
	}

	// loadRecent pages through a list that answers oldest first and keeps the
	// last 25 items, newest first.
	async function loadRecent(path, field) {
		let items = [];
		let after = "";
		try {
			for (let page = 0; page < 40; page++) {
				const r = await call("GET", path + "?limit=500" + (after ? "&after=" + encodeURIComponent(after) : ""));
				items = items.concat(r[field] || []).slice(-25);
				if (!r.next) break;
				after = r.next;
			}
		} catch (e) {
			return { error: e.message };
		}
		return items.reverse();
	}

	function renderBenchFacts() {
		const h = state.health || {};
		const uptime = h.uptime_seconds != null ? Math.floor(h.uptime_seconds / 3600) + " h " + Math.floor((h.uptime_seconds % 3600) / 60) + " min" : "";
		const q = (h.queue && h.queue.jobs) || {};
		facts($("bench-facts"), [
			["Status", el("span", { class: badgeClass(h.status), text: h.status || "no answer" })],
			["Firmware", h.version || "unknown"],
			["Started", fmtTime(h.started_at)],
			["Up for", uptime],
			["Data file", h.queue ? (h.queue.open ? "open" : "unusable: " + (h.queue.error || "")) : ""],
			["Jobs waiting", String((q.queued || 0) + (q.sending || 0))],
		]);
		const ul = $("bench-problems");
		ul.textContent = "";
		for (const p of h.problems || []) ul.appendChild(el("li", { text: p }));

		const s = h.scale || {};
		const r = state.reading || s.reading;
		facts($("scale-facts"), [
			["State", el("span", { class: badgeClass(r ? r.status : s.status), text: r ? r.status : (s.status || "unknown") })],
			["Reading", r ? (r.display || "–") : "–"],
			["Source", (r && r.source) || ""],
			["Simulated", s.simulated ? "yes" : "no"],
			["Read at", r ? fmtClock(r.time) : ""],
		]);

		const links = h.links || [];
		// The bench's MQTT id: what push --bench and watch --bench take.
		const id = ["Bench id", el("code", { id: "device-id", text: h.device_id || "" })];
		if (!links.length) {
			facts($("mqtt-facts"), [id, ["State", "not configured (no [mqtt] url)"]]);
		} else {
			const rows = [id];
			for (const l of links) {
				rows.push([l.name, el("span", { class: badgeClass(l.state), text: l.state })]);
				if (l.since) rows.push(["since", fmtTime(l.since)]);
				if (l.error) rows.push(["error", l.error]);
			}
			facts($("mqtt-facts"), rows);
		}
		const counts = Object.entries(q).filter(([, n]) => n > 0).map(([s, n]) => n + " " + s).join(", ");
		setText("job-counts", counts ? "(" + counts + ")" : "");
	}

	// renderShopify shows what to register with Shopify: the callback_url
	// (it carries the callback token), the handle and the webhook URL.
	function renderShopify(info) {
		if (!info || info.error) {
			facts($("shopify-facts"), [["State", (info && info.error) || "no answer"]]);
			return;
		}
		facts($("shopify-facts"), [
			["Handle", info.handle],
			["callback_url", el("code", { text: info.callback_url })],
			["Webhook URL", el("code", { text: info.webhook_url })],
			["Topics", (info.topics || []).join(", ")],
			["Webhooks", info.webhooks_enabled ? "on (client secret set)" : "off: set [shopify] client_secret"],
			["Public URL", info.public_url_set ? "from [shopify] public_url" : "not set: built from this page's address"],
		]);
	}

	function renderPrinters() {
		const tb = $("printer-rows");
		if (tb.contains(document.activeElement)) return; // keep a keyboard user's place
		tb.textContent = "";
		if (!state.printers.length) {
			tb.appendChild(el("tr", null, el("td", { colspan: "6", class: "empty", text: "No printers configured." })));
			return;
		}
		for (const p of state.printers) {
			const words = PRINTER_WORDS[p.state];
			const stateCell = el("td", null, el("span", { class: badgeClass(p.state), text: p.state }),
				words ? el("div", { text: words[0] + " " + words[1] }) : null,
				p.reason && !words ? el("div", { text: p.reason }) : null);
			const btn = el("button", { type: "button", class: "small", "aria-label": "Test print on " + p.name, text: "Test print" });
			btn.addEventListener("click", () => act("Test print", async () => {
				const job = await call("POST", API + "/printers/" + encodeURIComponent(p.name) + "/test");
				scheduleAdmin();
				return "Test label queued for " + p.name + " (" + job.id + ")";
			}));
			tb.appendChild(el("tr", null,
				el("td", { text: p.name }),
				el("td", { text: p.transport + (p.address ? " " + p.address : "") }),
				stateCell,
				el("td", { text: p.last_job ? p.last_job + " " + (p.last_job_state || "") : "" }),
				el("td", { text: fmtClock(p.updated) }),
				el("td", null, btn)));
		}
	}

	// jobButton is one job action; send makes the request (spelled out per
	// action so api/web_test.go can check each path against the routes).
	function jobButton(job, label, send) {
		const b = el("button", { type: "button", class: "small", "aria-label": label + " job " + job.id, text: label });
		b.addEventListener("click", () => act(label, async () => {
			const j = await send(job.id);
			scheduleAdmin();
			return label + ": " + j.id + " " + j.state;
		}));
		return b;
	}

	const why = { reason: "admin page" };
	const cancelJob = (id) => call("POST", API + "/jobs/" + id + "/cancel", why);
	const retryJob = (id) => call("POST", API + "/jobs/" + id + "/retry", why);
	const markPrinted = (id) => call("POST", API + "/jobs/" + id + "/mark-printed", why);
	const reprintJob = (id) => call("POST", API + "/jobs/" + id + "/reprint", {});

	function renderJobs(jobs) {
		const tb = $("job-rows");
		if (tb.contains(document.activeElement)) return;
		tb.textContent = "";
		if (jobs.error) {
			tb.appendChild(el("tr", null, el("td", { colspan: "6", class: "empty", text: "Could not load jobs: " + jobs.error })));
			return;
		}
		if (!jobs.length) {
			tb.appendChild(el("tr", null, el("td", { colspan: "6", class: "empty", text: "No print jobs yet." })));
			return;
		}
		for (const j of jobs) {
			const hist = el("ul", { class: "history" });
			for (const h of j.history || []) {
				hist.appendChild(el("li", { text: fmtClock(h.at) + " " + (h.from ? h.from + " → " : "") + h.to + (h.reason ? " (" + h.reason + ")" : "") }));
			}
			const acts = el("td");
			if (["queued", "failed", "uncertain"].includes(j.state)) acts.appendChild(jobButton(j, "Cancel", cancelJob));
			if (["failed", "uncertain", "sent"].includes(j.state)) acts.appendChild(jobButton(j, "Retry", retryJob));
			if (["failed", "uncertain", "sent"].includes(j.state)) acts.appendChild(jobButton(j, "Mark printed", markPrinted));
			if (j.source === "flow" && ["printed", "sent", "cancelled"].includes(j.state)) acts.appendChild(jobButton(j, "Reprint", reprintJob));
			tb.appendChild(el("tr", null,
				el("td", { text: j.id }),
				el("td", { text: j.key + (j.ref ? " · " + j.ref : "") }),
				el("td", { text: j.printer }),
				el("td", null, el("span", { class: badgeClass(j.state), text: JOB_STATE_WORDS[j.state] || j.state }),
					// Why it waits or failed; a finished job's old error would mislead.
					j.last_error && ["queued", "sending", "failed", "uncertain"].includes(j.state) ? el("div", { text: j.last_error }) : null),
				el("td", null, hist),
				acts));
		}
	}

	function renderShipments(ships) {
		const tb = $("ship-rows");
		if (tb.contains(document.activeElement)) return;
		tb.textContent = "";
		if (ships.error) {
			tb.appendChild(el("tr", null, el("td", { colspan: "7", class: "empty", text: "Could not load shipments: " + ships.error })));
			return;
		}
		let rows = 0;
		for (const s of ships) {
			const o = s.order || {};
			const to = o.ship_to || {};
			for (const p of (s.packages || []).slice().reverse()) {
				const link = el("a", { href: "#admin", text: p.has_preview ? "Show label" : "no preview" });
				if (p.has_preview && p.label_id && !p.label_deleted) {
					link.addEventListener("click", (ev) => { ev.preventDefault(); showAdminLabel(p); });
				}
				tb.appendChild(el("tr", null,
					el("td", { text: s.order_id + (o.partner_order_id ? " (" + o.partner_order_id + ")" : "") }),
					el("td", { text: [to.name, to.city, to.country].filter(Boolean).join(", ") }),
					el("td", { text: p.index + " of " + p.count + " · " + p.status }),
					el("td", { text: p.tracking_number || p.error || "" }),
					el("td", { text: (p.weight && p.weight.display) || "" }),
					el("td", null, p.job_id ? el("span", { class: badgeClass(p.job_state), text: p.job_id + " " + (p.job_state || "") }) : null),
					el("td", null, link)));
				rows++;
			}
		}
		if (!rows) tb.appendChild(el("tr", null, el("td", { colspan: "7", class: "empty", text: "No shipments yet." })));
	}

	async function showAdminLabel(p) {
		const fig = $("admin-preview");
		try {
			const url = await fetchImage(API + "/labels/" + encodeURIComponent(p.label_id) + ".png");
			const img = $("admin-label-img");
			if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
			img.src = url;
			img.alt = "Label " + p.label_id;
			setText("admin-label-caption", p.label_id + (p.tracking_number ? " · " + p.tracking_number : ""));
			fig.hidden = false;
		} catch (e) {
			say("Label: " + e.message, true);
		}
	}

	// problemSection maps a health problem ("printer zebra: paper out",
	// "scale: not answering", "mqtt: disconnected: ...") to the config
	// section it concerns.
	function problemSection(p) {
		const head = p.split(/[ :]/)[0].toLowerCase();
		return { printer: "printers", queue: "bench" }[head] || head;
	}

	function renderConfig(cfg) {
		const box = $("config");
		// Someone reading or selecting text there keeps their place.
		if (box.contains(document.activeElement)) return;
		box.textContent = "";
		if (cfg && cfg.error && Object.keys(cfg).length === 1) {
			box.appendChild(el("p", { class: "field-problem", text: "Could not load the configuration: " + cfg.error }));
			return;
		}
		const probs = {};
		for (const p of (state.health && state.health.problems) || []) {
			const s = problemSection(p);
			(probs[s] = probs[s] || []).push(p);
		}
		let hidden = 0;
		for (const [section, value] of Object.entries(cfg || {})) {
			if (!inUse(section, value) && !(probs[section] || []).length) {
				hidden++;
				continue;
			}
			const fs = el("fieldset", { id: "config-" + section });
			fs.appendChild(el("legend", { text: section }));
			for (const p of probs[section] || []) {
				fs.classList.add("has-problem");
				fs.appendChild(el("p", { class: "field-problem", role: "note", text: p }));
			}
			const list = el("div", { class: "field" });
			flatten(value, "", (k, v) => {
				list.appendChild(el("span", { class: "k", text: k || section }));
				list.appendChild(el("span", { class: "v", text: v }));
			});
			fs.appendChild(list);
			box.appendChild(fs);
		}
		if (hidden) box.appendChild(el("p", { class: "hint", id: "config-hidden", text: hidden + " sections not in use are not shown (no [mqtt] url, no [raw9100] listen, …)." }));
	}

	// inUse: a section the bench does not use is left out of the
	// configuration view ([mqtt] without a url, [raw9100] without listen,
	// [gpio] without pins, no scanners); the values shown are the
	// effective ones, defaults included (GET /api/v1/config).
	function inUse(section, value) {
		if (value == null) return false;
		if (Array.isArray(value)) return value.length > 0;
		if (typeof value !== "object") return true;
		switch (section) {
		case "mqtt": return !!value.url;
		case "raw9100": return !!value.listen;
		case "gpio": return !!(value.button || value.led || value.buzzer);
		}
		return Object.keys(value).length > 0;
	}

	function flatten(v, prefix, out) {
		if (v !== null && typeof v === "object") {
			const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
			if (!entries.length) { out(prefix, Array.isArray(v) ? "[]" : "{}"); return; }
			for (const [k, x] of entries) flatten(x, prefix ? prefix + (Array.isArray(v) ? "[" + k + "]" : "." + k) : (Array.isArray(v) ? "[" + k + "]" : k), out);
			return;
		}
		out(prefix, v === null ? "–" : v === "" ? "(empty)" : String(v));
	}

	// ---- start -------------------------------------------------------------

	// unlockAudio makes (or resumes) the AudioContext on a key press or a
	// touch, as browsers allow sound only after one; a scanner's keystrokes
	// count.
	function unlockAudio() {
		const Ctx = window.AudioContext || window.webkitAudioContext;
		if (!Ctx) return;
		try {
			state.audio = state.audio || new Ctx();
			if (state.audio.state === "suspended") state.audio.resume();
		} catch (e) { /* no sound on this device */ }
	}

	// ---- command barcodes (admin) ----------------------------------------

	async function refreshCommands() {
		const ul = $("command-sheet");
		let cmds;
		try {
			cmds = (await call("GET", API + "/commands")).commands || [];
		} catch (e) {
			ul.textContent = "";
			ul.appendChild(el("li", { class: "field-problem", text: "Could not load the command barcodes: " + e.message }));
			return;
		}
		const sig = JSON.stringify(cmds);
		if (ul.dataset.sig === sig) return;
		ul.dataset.sig = sig;
		for (const img of ul.querySelectorAll("img")) URL.revokeObjectURL(img.src);
		ul.textContent = "";
		for (const c of cmds) {
			const img = el("img", { alt: "Barcode " + c.code });
			const li = el("li", { "data-command": c.name }, el("strong", { text: c.label }), img, el("code", { text: c.code }));
			ul.appendChild(li);
			fetchImage(API + "/commands/" + encodeURIComponent(c.name) + "/barcode").then((url) => { img.src = url; },
				(e) => { img.replaceWith(el("span", { class: "field-problem", text: e.message })); });
		}
	}

	function wireSheet() {
		$("btn-sheet-print").addEventListener("click", async () => {
			const msg = $("sheet-msg");
			try {
				const job = await call("POST", API + "/commands/sheet/print");
				msg.textContent = "Queued as job " + job.id + ".";
				msg.className = "";
			} catch (e) {
				msg.textContent = "Could not print the sheet: " + e.message;
				msg.className = "field-problem";
			}
		});
		$("btn-sheet-page").addEventListener("click", () => {
			document.body.classList.add("print-sheet");
			window.print();
			document.body.classList.remove("print-sheet");
		});
	}

	// pairFromAddress pairs the screen when the page was opened from the
	// pairing QR code (…/#pair=12345678), and drops the code from the
	// address (it is used up anyway).
	function pairFromAddress() {
		const m = /^#pair=([0-9 %]+)$/.exec(location.hash);
		if (!m) return false;
		history.replaceState(null, "", location.pathname + "#bench");
		stop();
		state.key = null;
		state.trusted = false;
		showGate("");
		pairScreen(decodeURIComponent(m[1]));
		return true;
	}

	function main() {
		document.addEventListener("keydown", unlockAudio);
		document.addEventListener("pointerdown", unlockAudio);
		wireSheet();
		wireActions();
		refreshHealth();
		setInterval(refreshHealth, 5000);
		if (pairFromAddress()) return;
		const key = localStorage.getItem(KEY_STORE);
		if (key) {
			tryKey(key);
			return;
		}
		// The bench's own display may need nothing ([api] trust_loopback).
		fetch(API + "/flow", { cache: "no-store" }).then((resp) => {
			if (!resp.ok) throw new Error(resp.statusText);
			state.trusted = true;
			state.kiosk = true;
			start();
		}).catch(() => showGate(""));
	}

	if (document.readyState === "loading") {
		document.addEventListener("DOMContentLoaded", main);
	} else {
		main();
	}
})();
