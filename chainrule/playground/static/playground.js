// The chainrule playground page: controls post to the server's JSON API; pictures come as
// server-sent events (one stream per tab, its own session id). Plain JavaScript, no libraries.
"use strict";

// Class colours as chainrule.viz.plot_decision_boundary draws them: class 0 red, class 1 blue
// (matplotlib's tab:red and tab:blue), then C1, C2, C4, ... C9.
const PALETTE = ["#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];
const RED = [214, 39, 40], BLUE = [31, 119, 180];
const FIELDS = ["test_fraction", "seed", "hidden", "activation", "objective", "optimizer", "lr",
                "weight_decay", "dropout", "batch_size"];

const sid = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
  : Array.from({length: 32}, () => Math.floor(Math.random() * 16).toString(16)).join("");
let state = null, frame = null, options = null;
const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $("error");
  if (!message) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = message;
  box.hidden = false;
}

// Requests go one after another, in the order of the events that made them (a setting's
// change, fired when its field loses focus, reaches the server before the click on Play).
let queue = Promise.resolve();
function api(path, body, headers) {
  const result = queue.then(() => request(path, body, headers));
  queue = result.catch(() => {});
  return result;
}

async function request(path, body, headers) {
  const init = body === undefined ? {} : {method: "POST", body: body,
    headers: headers || {"Content-Type": "application/json"}};
  let response;
  const pending = document.body.dataset;   // requests in flight (tests wait for 0)
  pending.pending = String(Number(pending.pending || 0) + 1);
  try {
    response = await fetch(`${path}${path.includes("?") ? "&" : "?"}sid=${sid}`, init);
  } catch (err) {
    showError(`The playground's server cannot be reached (${err.message}); is it still running?`);
    throw err;
  } finally {
    pending.pending = String(Number(pending.pending) - 1);
  }
  const data = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
  if (!response.ok) {
    showError(data.error || `HTTP ${response.status}`);
    throw new Error(data.error);
  }
  showError(null);
  return data;
}

function hex(rgb) { return "#" + rgb.map((v) => Math.round(v).toString(16).padStart(2, "0")).join(""); }
function rgbOf(hexColour) { return [1, 3, 5].map((i) => parseInt(hexColour.slice(i, i + 2), 16)); }
function mix(rgb, t) { return rgb.map((v) => 255 + (v - 255) * t); }   // white → colour

// --- settings ------------------------------------------------------------------------------

function fillSelect(el, values, labels) {
  el.innerHTML = "";
  values.forEach((v, i) => {
    const o = document.createElement("option");
    o.value = v; o.textContent = labels ? labels[i] : v;
    el.appendChild(o);
  });
}

function showConfig(cfg, hasUpload, uploadName) {
  const names = options.datasets.map((d) => d.name);
  const labels = options.datasets.map((d) => d.name);
  if (hasUpload) { names.push("upload"); labels.push(`your file: ${uploadName}`); }
  fillSelect($("dataset"), names, labels);
  $("dataset").value = cfg.dataset;
  const about = options.datasets.find((d) => d.name === cfg.dataset);
  $("dataset-about").textContent = about ? about.about : `uploaded: ${uploadName}`;
  for (const f of FIELDS) {
    const el = $(f);
    if (document.activeElement === el) continue;
    el.value = f === "hidden" ? cfg.hidden.join(",") : cfg[f];
  }
}

function readConfig() {
  const text = $("hidden").value.trim();
  const hidden = text === "" || text === "0" ? [] : text.split(/[\s,]+/).map(Number);
  return {dataset: $("dataset").value, hidden, test_fraction: Number($("test_fraction").value),
          seed: Number($("seed").value), activation: $("activation").value,
          objective: $("objective").value, optimizer: $("optimizer").value,
          lr: Number($("lr").value), weight_decay: Number($("weight_decay").value),
          dropout: Number($("dropout").value), batch_size: Number($("batch_size").value)};
}

async function applyConfig() {
  try { await api("/api/config", JSON.stringify(readConfig())); }
  catch (err) { if (state) showConfig(state.config, state.has_upload, state.points.name); }
}

async function control(action) {
  try { await api("/api/control", JSON.stringify({action})); } catch (err) { /* shown */ }
}

async function upload(file) {
  if (file.size > options.max_upload_bytes) {
    showError(`${file.name}: ${file.size.toLocaleString()} bytes; the playground takes files of at most ${options.max_upload_bytes / 1024} KiB`);
    return;
  }
  const body = await file.arrayBuffer();
  try { await api("/api/upload", body, {"X-Filename": file.name, "Content-Type": "text/csv"}); }
  catch (err) { /* shown */ }
  $("upload").value = "";
}

async function showFormulas() {
  try {
    const f = await api(`/api/formulas?index=${Number($("formula-index").value) || 0}`);
    const where = f.features.map((n, i) => `${n} = ${f.raw[i]}`).join(", ");
    $("formula-about").textContent = f.text ? `Data row ${f.row + 1} (${where}, label ` +
      `${f.label}); the network sees the inputs standardized. One plain gradient step with ` +
      "η = the learning rate." : f.message;
    $("formulas").textContent = f.text || "";
  } catch (err) { /* shown */ }
}

// --- pictures ------------------------------------------------------------------------------

function toCanvas(frameGrid, x, y, ctx, w, h) {   // data coordinates → canvas pixels
  const [lo, hi] = [frameGrid.lo, frameGrid.hi];
  return [(x - lo[0]) / (hi[0] - lo[0]) * w, (hi[1] - y) / (hi[1] - lo[1]) * h];
}

function boundaryImage(b, n, classes) {
  const img = new ImageData(n, n);
  const cols = PALETTE.map(rgbOf);
  for (let i = 0; i < n * n; i++) {
    let c;
    if (b.kind === "binary") {
      const p = b.p[i] / 100;
      c = mix(p >= 0.5 ? BLUE : RED, Math.abs(p - 0.5) * 2 * 0.65);
    } else {
      const k = classes, t = Math.max(0, (b.p[i] / 100 - 1 / k) / (1 - 1 / k));
      c = mix(cols[b.cls[i] % cols.length], t * 0.65);
    }
    img.data.set([c[0], c[1], c[2], 255], i * 4);
  }
  return img;
}

function drawImage(ctx, img, x, y, w, h) {
  const off = document.createElement("canvas");
  off.width = img.width; off.height = img.height;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, x, y, w, h);
}

function drawBoundary() {
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (!frame || !state) return;
  const g = frame.grid;
  drawImage(ctx, boundaryImage(frame.boundary, g.size, state.points.classes.length), 0, 0, w, h);
  const pts = state.points;
  for (let i = 0; i < pts.y.length; i++) {
    const [px, py] = toCanvas(g, pts.x[i][0], pts.x[i][1], ctx, w, h);
    ctx.beginPath();
    ctx.arc(px, py, 3.6, 0, 2 * Math.PI);
    ctx.fillStyle = PALETTE[pts.y[i] % PALETTE.length];
    ctx.fill();
    ctx.lineWidth = pts.test[i] ? 1.6 : 0.8;
    ctx.strokeStyle = pts.test[i] ? "#000" : "#fff";
    ctx.stroke();
  }
  ctx.fillStyle = "#333"; ctx.font = "12px sans-serif";
  ctx.fillText(`${pts.features[0]}: ${g.lo[0].toFixed(2)} … ${g.hi[0].toFixed(2)}`, 6, h - 6);
  ctx.save(); ctx.translate(14, h - 6); ctx.rotate(-Math.PI / 2);
  ctx.fillText(`${pts.features[1]}: ${g.lo[1].toFixed(2)} … ${g.hi[1].toFixed(2)}`, 16, 0);
  ctx.restore();
  $("boundary-about").textContent = `${pts.name}: ${pts.n_train} training points (white rim), ` +
    `${pts.n_test} test points (black rim); classes ${pts.classes.map((c, k) => `${c} = ${["red", "blue", "orange", "green", "purple", "brown", "pink", "grey", "olive", "cyan"][k]}`).join(", ")}`;
}

function drawLoss() {
  const canvas = $("loss"), ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 30;
  ctx.clearRect(0, 0, w, h);
  if (!frame) return;
  const c = frame.curves, n = c.epoch.length;
  const values = c.train.concat(c.test).filter((v) => v !== null);
  const top = Math.max(...values, 1e-9), right = Math.max(c.epoch[n - 1] || 0, 1e-9);
  ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1;
  ctx.strokeRect(pad, 6, w - pad - 6, h - pad - 6);
  const X = (e) => pad + e / right * (w - pad - 6), Y = (v) => 6 + (1 - v / top) * (h - pad - 6);
  for (const [key, colour] of [["train", "#333"], ["test", "#ff7f0e"]]) {
    ctx.beginPath(); ctx.strokeStyle = colour; ctx.lineWidth = 1.8;
    let started = false;
    for (let i = 0; i < n; i++) {
      if (c[key][i] === null) continue;
      const [x, y] = [X(c.epoch[i]), Y(c[key][i])];
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
    }
    ctx.stroke();
  }
  ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
  ctx.fillText(top.toPrecision(3), 2, 14); ctx.fillText("0", 18, h - pad);
  ctx.fillText(`epoch ${right.toFixed(1)}`, w - 80, h - 10);
  ctx.fillText("training", pad + 8, h - 10);
  ctx.fillStyle = "#ff7f0e"; ctx.fillText("test", pad + 64, h - 10);
}

function unitImage(values, n) {   // −100..100 → red..white..blue
  const img = new ImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const v = values[i] / 100, c = mix(v >= 0 ? BLUE : RED, Math.abs(v));
    img.data.set([c[0], c[1], c[2], 255], i * 4);
  }
  return img;
}

// NOTE: the diagram is one drawing: columns of units (inputs, hidden, output), each hidden
// unit as its picture, and every weight as a line whose thickness is |w|.
function drawNetwork() {
  const canvas = $("network");
  if (!frame || !state) return;
  const sizes = state.sizes, layers = sizes.length, biggest = Math.max(...sizes);
  const box = 40, gapY = 10;
  canvas.height = Math.max(240, biggest * (box + gapY) + 40);
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const colX = (l) => 40 + l * (w - 80 - box) / Math.max(1, layers - 1);
  const pos = sizes.map((n, l) => Array.from({length: n}, (_, j) =>
    [colX(l), h / 2 + (j - (n - 1) / 2) * (box + gapY) - box / 2]));
  const maxW = Math.max(1e-9, ...frame.weights.flatMap((m) => m.w.flat().map(Math.abs)));
  frame.weights.forEach((m, l) => {
    m.w.forEach((row, j) => row.forEach((wij, i) => {
      const [x0, y0] = pos[l][i], [x1, y1] = pos[l + 1][j];
      ctx.beginPath(); ctx.moveTo(x0 + box, y0 + box / 2); ctx.lineTo(x1, y1 + box / 2);
      ctx.strokeStyle = wij >= 0 ? "rgba(31,119,180,0.75)" : "rgba(214,39,40,0.75)";
      ctx.lineWidth = 0.3 + 6 * Math.abs(wij) / maxW;
      ctx.stroke();
    }));
  });
  const side = Math.ceil(frame.grid.size / 2);
  ctx.font = "11px sans-serif";
  sizes.forEach((n, l) => pos[l].forEach(([x, y], j) => {
    if (l === 0) {
      ctx.fillStyle = "#eee"; ctx.fillRect(x, y, box, box);
      ctx.fillStyle = "#222"; ctx.fillText(state.points.features[j].slice(0, 6), x + 3, y + box / 2 + 4);
    } else if (l === layers - 1) {
      drawImage(ctx, boundaryImage(frame.boundary, frame.grid.size, state.points.classes.length), x, y, box, box);
    } else {
      drawImage(ctx, unitImage(frame.hidden[l - 1][j], side), x, y, box, box);
    }
    ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.strokeRect(x, y, box, box);
  }));
  ctx.fillStyle = "#555";
  sizes.forEach((n, l) => ctx.fillText(l === 0 ? "inputs" : l === layers - 1 ? "output" : `hidden ${l}`,
                                        colX(l), 14));
}

function showFrame() {
  if (!frame || !state || frame.data_version !== state.data_version) return;
  const fmt = (v) => v === null ? "–" : v.toFixed(4);
  $("epoch").textContent = frame.epoch.toFixed(frame.epoch < 10 ? 2 : 1);
  $("batches").textContent = frame.batches;
  $("train-loss").textContent = fmt(frame.train_loss);
  $("test-loss").textContent = fmt(frame.test_loss);
  $("train-acc").textContent = frame.train_accuracy.toFixed(3);
  $("test-acc").textContent = frame.test_accuracy.toFixed(3);
  $("play").innerHTML = frame.running ? "&#x23F8; Pause" : "&#x25B6; Play";
  $("play").dataset.running = frame.running ? "1" : "0";
  if (frame.problem) showError(`Training stopped: ${frame.problem}`);
  drawBoundary(); drawLoss(); drawNetwork();
}

// --- wiring ----------------------------------------------------------------------------------

async function main() {
  options = await api("/api/options");
  $("version").textContent = options.version;
  $("max-kib").textContent = options.max_upload_bytes / 1024;
  fillSelect($("activation"), options.activations);
  fillSelect($("objective"), options.objectives, options.objectives.map((o) =>
    o === "cross_entropy" ? "cross-entropy (log-loss)" : "quadratic (squared error)"));
  fillSelect($("optimizer"), options.optimizers);
  $("play").onclick = () => control($("play").dataset.running === "1" ? "pause" : "play");
  $("step").onclick = () => control("step");
  $("reset").onclick = () => control("reset");
  $("formulas-button").onclick = showFormulas;
  $("upload").onchange = (e) => { if (e.target.files.length) upload(e.target.files[0]); };
  $("dataset").onchange = applyConfig;
  for (const f of FIELDS) $(f).onchange = applyConfig;
  $("export-model").href = `/api/export/model?sid=${sid}`;
  $("export-script").href = `/api/export/script?sid=${sid}`;
  const events = new EventSource(`/api/events?sid=${sid}`);
  events.addEventListener("state", (e) => {
    state = JSON.parse(e.data);
    showConfig(state.config, state.has_upload, state.points.name);
    $("formula-index").max = state.points.n_train - 1;
    showFrame();
  });
  events.addEventListener("frame", (e) => {
    frame = JSON.parse(e.data);
    document.body.dataset.frames = String(Number(document.body.dataset.frames || 0) + 1);
    showFrame();
  });
  events.onerror = () => showError("Lost the connection to the playground's server; reconnecting…");
  events.onopen = () => { if ($("error").textContent.startsWith("Lost")) showError(null); };
}

main().catch((err) => showError(`The page could not start: ${err.message}`));
