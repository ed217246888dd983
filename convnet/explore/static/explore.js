// convnet explore: the page asks the library (JSON API) for every number it shows.
"use strict";

const state = { model: null, image: null, forward: null, unit: null, drawings: 0 };
const $ = (id) => document.getElementById(id);

let pending = 0;   // requests in flight, on <body data-pending> (0: the page shows its last answer)

async function api(path, body) {
  const options = body === undefined ? {} :
    { method: "POST", body: body instanceof Blob ? body : JSON.stringify(body),
      headers: body instanceof Blob ? {} : { "Content-Type": "application/json" } };
  document.body.dataset.pending = ++pending;
  try {
    const response = await fetch(path, options);
    const answer = await response.json();
    if (!response.ok || answer.error) { showError(answer.error || response.statusText); throw new Error(answer.error); }
    showError(null);
    return answer;
  } finally {
    document.body.dataset.pending = --pending;
  }
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

function format(value) {
  if (value === null || value === undefined) return "−∞";
  const text = Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0)
    ? value.toExponential(3) : value.toFixed(4);
  return text;
}

// ---------------------------------------------------------------- drawing pictures
function paintGrey(canvas, rows, scale, low, high) {
  // rows: H x W numbers; drawn grey between low and high (0..255 when not given)
  const height = rows.length, width = rows[0].length;
  canvas.width = width * scale; canvas.height = height * scale;
  const context = canvas.getContext("2d");
  const lo = low === undefined ? 0 : low, hi = high === undefined ? 255 : high;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const v = Math.round(255 * (rows[y][x] - lo) / ((hi - lo) || 1));
    context.fillStyle = `rgb(${v},${v},${v})`;
    context.fillRect(x * scale, y * scale, scale, scale);
  }
}

function paintValue(canvas, value, low, high, size) {
  // a 1x1 map: grey by its value among the layer's values, with the number written on it
  canvas.width = size; canvas.height = size;
  const context = canvas.getContext("2d");
  const v = Math.round(255 * (value - low) / ((high - low) || 1));
  context.fillStyle = `rgb(${v},${v},${v})`;
  context.fillRect(0, 0, size, size);
  context.fillStyle = v > 127 ? "black" : "white";
  context.font = `${Math.max(9, Math.floor(size / 4))}px sans-serif`;
  context.textAlign = "center"; context.textBaseline = "middle";
  context.fillText(format(value), size / 2, size / 2);
  canvas.dataset.value = value;
}

function paintImage(canvas, pixels, size) {
  // pixels: C x H x W in [0, 1]
  const height = pixels[0].length, width = pixels[0][0].length;
  const scale = Math.max(1, Math.floor(size / Math.max(height, width)));
  canvas.width = width * scale; canvas.height = height * scale;
  const context = canvas.getContext("2d");
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const [r, g, b] = pixels.length === 3 ? [0, 1, 2].map((c) => pixels[c][y][x])
      : [pixels[0][y][x], pixels[0][y][x], pixels[0][y][x]];
    context.fillStyle = `rgb(${255 * r},${255 * g},${255 * b})`;
    context.fillRect(x * scale, y * scale, scale, scale);
  }
  return scale;
}

function paintHeat(canvas, rows, size) {
  const height = rows.length, width = rows[0].length;
  const scale = Math.max(1, Math.floor(size / Math.max(height, width)));
  canvas.width = width * scale; canvas.height = height * scale;
  const context = canvas.getContext("2d");
  const high = Math.max(...rows.flat()) || 1;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const v = rows[y][x] / high;   // black, red, yellow, white
    const r = Math.min(1, 3 * v), g = Math.min(1, Math.max(0, 3 * v - 1)), b = Math.max(0, 3 * v - 2);
    context.fillStyle = `rgb(${255 * r},${255 * g},${255 * b})`;
    context.fillRect(x * scale, y * scale, scale, scale);
  }
}

function table(rows, classOf) {
  const element = document.createElement("table");
  element.className = "numbers";
  rows.forEach((row, y) => {
    const line = element.insertRow();
    row.forEach((value, x) => {
      const cell = line.insertCell();
      cell.textContent = typeof value === "number" || value === null ? format(value) : value;
      const extra = classOf ? classOf(y, x) : "";
      if (extra) cell.className = extra;
    });
  });
  return element;
}

// ---------------------------------------------------------------- the input
function setupDrawing() {
  const canvas = $("draw"), context = canvas.getContext("2d");
  const clear = () => { context.fillStyle = "black"; context.fillRect(0, 0, canvas.width, canvas.height); };
  clear();
  let drawing = false;
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  canvas.addEventListener("pointerdown", (event) => { drawing = true; stroke(point(event)); });
  canvas.addEventListener("pointermove", (event) => { if (drawing) stroke(point(event)); });
  const finish = () => { if (drawing) { drawing = false; sendDrawing(); } };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointerleave", finish);
  function stroke([x, y]) {
    context.fillStyle = "white";
    context.beginPath(); context.arc(x, y, 12, 0, 2 * Math.PI); context.fill();
  }
  $("clear").addEventListener("click", () => { clear(); sendDrawing(); });
}

async function sendDrawing() {
  const ticket = ++state.drawings;       // each finished stroke sends the drawing so far
  const blob = await new Promise((resolve) => $("draw").toBlob(resolve, "image/png"));
  const answer = await api("/api/upload?drawing=1", blob);
  if (ticket !== state.drawings) return;  // a later stroke's drawing is on its way
  showPreprocessing(answer.preprocessing);
  await choose({ pixels: answer.pixels }, answer.pixels);
  document.body.dataset.drawingShown = ticket;   // the page now shows this drawing's answers
}

function showPreprocessing(text) {
  // what was done to the picture before the model saw it (shown under the model's input)
  $("preprocessing").textContent = text ? `the drawing was ${text}` : "";
}

async function choose(image, pixels) {
  state.image = image;
  if (image.sample !== undefined) $("preprocessing").textContent = "a test image of the model's data set, as it is";
  document.querySelectorAll(".samples canvas").forEach((c) =>
    c.classList.toggle("chosen", image.sample !== undefined && Number(c.dataset.index) === image.sample));
  paintImage($("input-view"), pixels, 168);
  await runForward();
}

// ---------------------------------------------------------------- forward and overview
async function runForward() {
  const answer = await api("/api/forward", state.image);
  state.forward = answer;
  paintImage($("input-view"), answer.image, 168);
  showPrediction(answer);
  showOverview(answer);
  await showSaliency();
  if (state.unit) await showUnit(state.unit.layer, state.unit.channel, state.unit.y, state.unit.x);
}

function className(index) {
  const classes = state.model.classes;
  return classes && classes[index] !== undefined ? classes[index] : String(index);
}

function showPrediction(answer) {
  const box = $("prediction");
  box.innerHTML = "";
  const values = answer.probabilities || answer.shares;
  $("prediction-title").textContent = answer.probabilities
    ? `prediction: ${className(answer.predicted)}` : "predicted mask: share of each class";
  if (answer.mask) {   // the predicted label of every pixel, in the library's palette
    const canvas = document.createElement("canvas");
    canvas.id = "mask";
    const height = answer.mask.length, width = answer.mask[0].length;
    const scale = Math.max(1, Math.floor(168 / Math.max(height, width)));
    canvas.width = width * scale; canvas.height = height * scale;
    const context = canvas.getContext("2d");
    answer.mask.forEach((row, y) => row.forEach((label, x) => {
      const [r, g, b] = answer.palette[label];
      context.fillStyle = `rgb(${r},${g},${b})`;
      context.fillRect(x * scale, y * scale, scale, scale);
    }));
    box.appendChild(canvas);
  }
  values.forEach((p, index) => {
    const bar = document.createElement("div");
    bar.className = "bar" + (index === answer.predicted ? " best" : "");
    bar.innerHTML = `<span class="label"></span><span class="fill"></span><span class="value"></span>`;
    if (answer.palette) bar.querySelector(".fill").style.background = `rgb(${answer.palette[index].join(",")})`;
    bar.querySelector(".label").textContent = className(index);
    bar.querySelector(".fill").style.width = `${Math.round(200 * p)}px`;
    bar.querySelector(".value").textContent = `${(100 * p).toFixed(1)}%`;
    box.appendChild(bar);
  });
}

function showOverview(answer) {
  const box = $("overview");
  box.innerHTML = "";
  state.model.layers.forEach((layer, index) => {
    const output = answer.layers[index];
    const card = document.createElement("div");
    card.className = "layer";
    card.innerHTML = `<div class="title"><b></b> <code></code> <span></span></div>`;
    card.querySelector("b").textContent = `${index}. ${layer.name || "model"} (${layer.type})`;
    card.querySelector("code").textContent = layer.notation || "";
    card.querySelector("span").textContent = `→ ${layer.shape.join("×")}` +
      (output.count > (output.maps || output.values).length ? ` (first ${(output.maps || output.values).length} shown)` : "");
    if (output.maps) {
      const maps = document.createElement("div");
      maps.className = "maps";
      output.maps.forEach((rows, channel) => {
        const canvas = document.createElement("canvas");
        const scale = Math.max(1, Math.floor(56 / Math.max(rows.length, rows[0].length)));
        if (rows.length === 1 && rows[0].length === 1) {
          paintValue(canvas, output.low[channel], Math.min(...output.low), Math.max(...output.high), scale);
        } else {
          paintGrey(canvas, rows, scale);
        }
        canvas.className = "map";
        canvas.dataset.layer = index; canvas.dataset.channel = channel; canvas.dataset.scale = scale;
        canvas.title = `channel ${channel}: ${format(output.low[channel])} … ${format(output.high[channel])}`;
        canvas.addEventListener("click", (event) => {
          const box = canvas.getBoundingClientRect();
          const y = Math.min(rows.length - 1, Math.floor((event.clientY - box.top) / scale));
          const x = Math.min(rows[0].length - 1, Math.floor((event.clientX - box.left) / scale));
          showUnit(index, channel, y, x);
        });
        maps.appendChild(canvas);
      });
      card.appendChild(maps);
    } else {
      const strip = document.createElement("div");
      strip.className = "vector";
      const high = Math.max(...output.values.map(Math.abs)) || 1;
      output.values.forEach((value, unit) => {
        const bar = document.createElement("div");
        bar.style.height = `${Math.max(1, 46 * Math.abs(value) / high)}px`;
        if (value < 0) bar.className = "negative";
        bar.title = `${unit}: ${format(value)}`;
        bar.dataset.layer = index; bar.dataset.unit = unit;
        bar.addEventListener("click", () => showUnit(index, unit, 0, 0));
        strip.appendChild(bar);
      });
      card.appendChild(strip);
    }
    box.appendChild(card);
  });
}

// ---------------------------------------------------------------- one unit
async function showUnit(layer, channel, y, x) {
  let answer;
  try {
    answer = await api("/api/unit", { image: state.image, layer, channel, y, x });
  } catch (error) { return; }
  state.unit = { layer, channel, y, x };
  const box = $("unit");
  box.innerHTML = "";
  const title = document.createElement("p");
  const where = answer.kind === "linear" ? `unit ${channel}` : `channel ${channel}, row ${y}, column ${x}`;
  title.textContent = `layer ${layer} (${answer.name}), ${where}`;
  box.appendChild(title);
  const row = document.createElement("div");
  row.className = "row";
  const figure = (caption, element) => {
    const f = document.createElement("figure");
    f.appendChild(element);
    const c = document.createElement("figcaption"); c.textContent = caption; f.appendChild(c);
    row.appendChild(f);
  };
  if (answer.kind === "conv") {
    const shown = Math.min(answer.window.length, 6);
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = `The layer's input is read through the unit's window in each of its ` +
      `${answer.window.length} input channels` + (shown < answer.window.length ? ` (the first ${shown} shown; the sum covers all)` : "") +
      (layer === 0 ? "; the first layer's input is the image after normalisation." : ".");
    box.appendChild(note);
    for (let c = 0; c < shown; c++) {
      const line = document.createElement("div");
      line.className = "row channel";
      const channel = answer.input_channels[0] + c;
      [["input window", answer.window[c]], ["× kernel", answer.kernel[c]], ["= products", answer.products[c]]]
        .forEach(([caption, rows]) => {
          const f = document.createElement("figure");
          f.appendChild(table(rows));
          const label = document.createElement("figcaption");
          label.textContent = `${caption}, channel ${channel}`;
          f.appendChild(label); line.appendChild(f);
        });
      const total = document.createElement("div");
      total.className = "equation";
      total.textContent = `Σ = ${format(answer.channel_sums[c])}`;
      line.appendChild(total);
      box.appendChild(line);
    }
  } else if (answer.kind === "maxpool" || answer.kind === "avgpool") {
    const winner = answer.winner || [-1, -1];
    figure("input window" + (answer.winner ? " (the winner marked)" : ""),
      table(answer.window, (r, c) => r === winner[0] && c === winner[1] ? "winner" : ""));
  } else if (answer.kind === "residual") {
    const source = answer.shortcut_source;
    const where = source ? ` (input channel ${source[0]}, row ${source[1]}, column ${source[2]})`
      : (answer.shortcut_kind.startsWith("option A") ? " (a zero channel)" : "");
    const rows = [["part", "value"], ["branch: the block's second batch norm", answer.branch],
      [`shortcut: ${answer.shortcut_kind}${where}`, answer.shortcut],
      ["branch + shortcut", answer.pre_activation]];
    figure("the block's output before its ReLU", table(rows));
  } else {
    const rows = [["input", "weight", "value", "product"]].concat(
      answer.top.map((t) => [String(t.input), t.weight, t.value, t.product]));
    figure(`the ${answer.top.length} largest of ${answer.terms} terms`, table(rows));
  }
  box.appendChild(row);
  const equation = document.createElement("div");
  equation.className = "equation";
  const parts = [];
  if (answer.kind === "conv" || answer.kind === "linear") parts.push(`sum of products + bias (${format(answer.bias)})`);
  if (answer.kind === "maxpool") parts.push("max of the window");
  if (answer.kind === "avgpool") parts.push(`mean of the window (÷ ${answer.divisor})`);
  if (answer.kind === "residual") parts.push("ReLU(branch + shortcut)");
  equation.innerHTML = `${parts.join("")} = <b id="unit-sum"></b>; the forward pass gave <b id="unit-forward"></b>`;
  equation.querySelector("#unit-sum").textContent = format(answer.sum);
  equation.querySelector("#unit-forward").textContent = format(answer.forward_value);
  equation.dataset.sum = answer.sum;
  equation.dataset.forward = answer.forward_value;
  equation.id = "unit-equation";
  if (answer.after_relu !== undefined) {
    const relu = document.createElement("span");
    relu.innerHTML = `; after ReLU: <b id="unit-relu"></b>`;
    relu.querySelector("b").textContent = format(answer.after_relu);
    equation.appendChild(relu);
  }
  box.appendChild(equation);
  outlineField(answer.field);
}

function outlineField(field) {
  const canvas = $("input-view");
  paintImage(canvas, state.forward.image, 168);
  if (!Array.isArray(field)) return;
  const scale = canvas.width / state.forward.image[0][0].length;
  const [top, left, bottom, right] = field;
  const context = canvas.getContext("2d");
  context.strokeStyle = "#e6194b"; context.lineWidth = 2;
  context.strokeRect(left * scale, top * scale, (right - left + 1) * scale, (bottom - top + 1) * scale);
}

// ---------------------------------------------------------------- filters, saliency
async function showFilters() {
  const layer = Number($("filter-layer").value);
  if (Number.isNaN(layer)) return;
  const answer = await api("/api/filters", { layer });
  const box = $("filters");
  box.innerHTML = `<p class="hint">${answer.shape.join("×")} weights; each filter's first input channel</p>`;
  const maps = document.createElement("div");
  maps.className = "maps";
  answer.filters.forEach((filter) => {
    const plane = filter[0];
    const flat = plane.flat();
    const canvas = document.createElement("canvas");
    paintGrey(canvas, plane, Math.max(4, Math.floor(40 / plane.length)), Math.min(...flat), Math.max(...flat));
    maps.appendChild(canvas);
  });
  box.appendChild(maps);
}

async function showSaliency() {
  if (state.model.segmentation) return;
  const chosen = $("saliency-class").value;
  const target = chosen === "" ? null : Number(chosen);
  const answer = await api("/api/saliency", { image: state.image, target });
  paintHeat($("saliency"), answer.saliency, 168);
  if (answer.gradcam) {
    paintHeat($("gradcam"), answer.gradcam.map, 168);
    $("gradcam-caption").textContent = `Grad-CAM at layer ${answer.gradcam.layer}`;
  }
}

// ---------------------------------------------------------------- playground
async function showPlayground() {
  const padding = $("pg-padding").value;
  const request = { size: Number($("pg-size").value), kernel: Number($("pg-kernel").value),
    stride: Number($("pg-stride").value), dilation: Number($("pg-dilation").value),
    padding: /^\d+$/.test(padding) ? Number(padding) : padding, padding_mode: $("pg-mode").value };
  let answer;
  try { answer = await api("/api/playground", request); } catch (error) { return; }
  $("pg-rule").textContent = `output size: ${answer.rule}`;
  const padded = $("pg-padded"), output = $("pg-output");
  padded.innerHTML = ""; output.innerHTML = "";
  padded.appendChild(table(answer.padded.map((r) => r.map((v) => String(v))), (y, x) => answer.border[y][x] ? "pad" : ""));
  output.appendChild(table(answer.output.map((r) => r.map((v) => String(v)))));
}

// ---------------------------------------------------------------- start
async function start() {
  const model = await api("/api/model");
  state.model = model;
  $("model-line").textContent = `${model.arch || "model"}: input ${model.input_shape.join("×")}, ` +
    `${model.layers.length} layers` + (model.classes ? `, ${model.classes.length} classes` : "");
  if (model.input_shape[0] !== 1) $("draw-hint").textContent = "Upload an image or pick a test image (drawing is for one-channel models).";
  model.layers.forEach((layer, index) => {
    if (layer.type === "Conv2d") $("filter-layer").add(new Option(`${index}. ${layer.name} ${layer.notation}`, index));
  });
  $("saliency-class").add(new Option("predicted", ""));
  (model.classes || []).forEach((name, index) => $("saliency-class").add(new Option(name, index)));
  $("filter-layer").addEventListener("change", showFilters);
  $("saliency-class").addEventListener("change", showSaliency);
  document.querySelectorAll("#playground-form input, #playground-form select")
    .forEach((element) => element.addEventListener("change", showPlayground));
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    const answer = await api("/api/upload", file);
    $("preprocessing").textContent = `the image was ${answer.preprocessing}`;
    choose({ pixels: answer.pixels }, answer.pixels);
  });
  setupDrawing();
  for (let index = 0; index < model.samples; index++) {
    const sample = await api(`/api/sample/${index}`);
    const canvas = document.createElement("canvas");
    canvas.dataset.index = index;
    paintImage(canvas, sample.pixels, 36);
    canvas.addEventListener("click", () => choose({ sample: index }, sample.pixels));
    $("samples").appendChild(canvas);
  }
  if (model.samples) await choose({ sample: 0 }, (await api("/api/sample/0")).pixels);
  else await sendDrawing();
  if ($("filter-layer").options.length) await showFilters();
  await showPlayground();
  document.body.dataset.ready = "true";
}

start().catch((error) => showError(String(error.message || error)));
