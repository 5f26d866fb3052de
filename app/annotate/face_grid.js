// The Annotate page's face grid (st.components.v2): every box of the open image as an enlarged
// crop. Click or arrow keys select; 0-9 label (0 = "None"); Delete deletes. Every key applies
// here at once; what it did goes to the server in batches (350 ms after the last key, and on
// blur), each operation naming its box by id and the label this grid saw on it. A batch stays
// "in flight" until the server's data says it was applied (acked), and is sent again until then.
// Names are set with textContent only: a category or image name is never markup.
// With `review` in its data (the Annotate page's Review section) each face carries the model's
// guess (preselected), a badge saying why it is queued and a thumbnail of its whole photo; Enter
// accepts the guess, 1-9 pick a class, X marks "not a face" (label null); a reviewed face stays
// in the grid, marked, and the selection moves to the next face not reviewed yet.

const DEBOUNCE_MS = 350;
const RESEND_MS = 1500;
const STATES = (globalThis.__maskStudioFaceGrids ??= new Map());

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function newState(key) {
  const root = el("div", "fg-root");
  root.tabIndex = 0;
  root.setAttribute("role", "grid");
  root.setAttribute("aria-label", "Faces: arrows select, digits label");
  const legend = el("div", "fg-legend");
  const note = el("div", "fg-note");
  const cells = el("div", "fg-cells");
  root.append(legend, cells, note);
  const st = {
    key, root, legend, note, cells,
    client: Math.random().toString(36).slice(2, 12),
    seq: 0, queue: [], inflight: [], timer: null, resend: null,
    base: [], boxes: [], selected: null, data: null, send: null, focused: false,
  };
  root.addEventListener("focusin", () => { st.focused = true; });
  root.addEventListener("focusout", () => { st.focused = false; flush(st); });
  root.addEventListener("click", (ev) => {
    const cell = ev.target.closest?.(".fg-cell");
    if (cell) select(st, cell.dataset.id);
    root.focus({ preventScroll: true });
  });
  return st;
}

function catColor(st, label) {
  const c = (st.data?.categories ?? []).find((x) => x.name === label);
  return c ? c.color : "#888888";
}

function legendItem(key, name, color) {
  const item = el("span", "fg-key");
  item.style.borderColor = color;
  item.append(el("b", "", key), document.createTextNode(" " + name));
  return item;
}

function render(st) {
  const d = st.data;
  st.root.classList.toggle("fg-review", !!d.review);
  st.legend.replaceChildren(
    ...(d.review ? [legendItem("Enter", "accept the guess", "#2f6bff")] : []),
    ...d.categories.map((c) => legendItem(String(c.key), c.name, c.color)),
    ...(d.review ? [legendItem("X", "not a face", "#666666")] : [])
  );
  const byId = new Map([...st.cells.children].map((c) => [c.dataset.id, c]));
  const cells = st.boxes.map((b) => {
    let cell = byId.get(b.id);
    if (!cell) {
      cell = el("div", "fg-cell");
      cell.dataset.id = b.id;
      const img = el("img", "fg-crop");
      img.alt = "";
      img.draggable = false;
      cell.append(img);
      if (d.review) {
        const ctx = el("img", "fg-context");
        ctx.alt = "";
        ctx.draggable = false;
        cell.append(ctx, el("div", "fg-badge"));
      }
      cell.append(el("div", "fg-caption"));
    }
    const img = cell.firstChild;
    if (img.getAttribute("src") !== b.crop) img.setAttribute("src", b.crop);
    const ctx = cell.querySelector(".fg-context");
    if (ctx && b.context && ctx.getAttribute("src") !== b.context) ctx.setAttribute("src", b.context);
    const badge = cell.querySelector(".fg-badge");
    if (badge) {
      badge.textContent = b.badge ?? "";
      badge.dataset.why = b.badge ?? "";
    }
    paint(st, cell, b);
    return cell;
  });
  st.cells.replaceChildren(...cells);
  if (!cells.length) st.cells.append(el("div", "fg-empty", d.empty ?? "No boxes yet: draw one on the image."));
}

function paint(st, cell, b) {
  if (st.data?.review) return paintReview(st, cell, b);
  const color = catColor(st, b.label);
  cell.dataset.label = b.label;
  cell.style.borderColor = color;
  cell.classList.toggle("fg-selected", b.id === st.selected);
  cell.classList.toggle("fg-none", b.label === "None");
  const cap = cell.lastChild;
  cap.textContent = "#" + b.n + " " + b.label;
  cap.style.background = color;
}

function paintReview(st, cell, b) {
  // Not reviewed: the guess, dashed; reviewed: its label (or "not a face"), solid.
  const shown = b.reviewed ? b.label : b.guess;
  const color = shown === null ? "#666666" : catColor(st, shown);
  cell.dataset.label = b.reviewed ? (b.label ?? "not a face") : "";
  cell.style.borderColor = color;
  cell.classList.toggle("fg-selected", b.id === st.selected);
  cell.classList.toggle("fg-none", !b.reviewed);
  cell.classList.toggle("fg-reviewed", !!b.reviewed);
  const cap = cell.lastChild;
  cap.textContent = b.reviewed
    ? "#" + b.n + " \u2713 " + (b.label ?? "not a face")
    : "#" + b.n + " " + b.guess + "? " + (b.confidence ?? "");
  cap.style.background = color;
}

function select(st, id) {
  if (!st.boxes.some((b) => b.id === id)) return;
  st.selected = id;
  for (const cell of st.cells.children) cell.classList.toggle("fg-selected", cell.dataset.id === id);
  st.cells.querySelector(".fg-selected")?.scrollIntoView({ block: "nearest" });
  schedule(st);
}

function applyOp(st, op) {
  // Apply one operation to the boxes shown; false when its box is not there.
  const i = st.boxes.findIndex((b) => b.id === op.id);
  if (i < 0) return false;
  if (st.data?.review) st.boxes[i] = { ...st.boxes[i], label: op.label, reviewed: true };
  else if (op.label === null) st.boxes.splice(i, 1);
  else st.boxes[i] = { ...st.boxes[i], label: op.label };
  return true;
}

function act(st, label) {
  // Label (or, with null, delete) the selected box here and now; queue it for the server.
  const i = st.boxes.findIndex((b) => b.id === st.selected);
  if (i < 0) return;
  const b = st.boxes[i];
  const review = !!st.data?.review;
  const op = { id: b.id, label, was: review ? (b.reviewed ? (b.label ?? "\u2715") : "") : b.label, n: b.n };
  applyOp(st, op);
  st.queue.push(op);
  const cell = [...st.cells.children].find((c) => c.dataset.id === b.id);
  if (review) {
    if (cell) paint(st, cell, st.boxes[i]);
    const order = [...st.boxes.slice(i + 1), ...st.boxes.slice(0, i)];
    const next = order.find((x) => !x.reviewed);
    if (next) st.selected = next.id;
  } else if (label === null) {
    cell?.remove();
    const next = st.boxes[Math.min(i, st.boxes.length - 1)];
    st.selected = next ? next.id : null;
  } else {
    if (cell) paint(st, cell, st.boxes[i]);
    // the next box still "None" after this one (wrapping), else stay
    const order = [...st.boxes.slice(i + 1), ...st.boxes.slice(0, i)];
    const next = order.find((x) => x.label === "None");
    if (next) st.selected = next.id;
  }
  for (const c of st.cells.children) c.classList.toggle("fg-selected", c.dataset.id === st.selected);
  schedule(st);
}

function schedule(st) {
  clearTimeout(st.timer);
  st.timer = setTimeout(() => flush(st), DEBOUNCE_MS);
}

function flush(st, force = false) {
  clearTimeout(st.timer);
  st.timer = null;
  if (st.queue.length) {
    st.inflight.push({ seq: ++st.seq, ops: st.queue });
    st.queue = [];
  } else if (!force && !st.inflight.length && st.selected === st.sentSelected) {
    return;
  }
  if (!st.send) return;
  st.sentSelected = st.selected;
  st.send("batch", {
    client: st.client,
    rev: st.data?.rev ?? "",
    batches: st.inflight,
    selected: st.selected,
    nonce: Math.random(),
  });
  clearTimeout(st.resend);
  if (st.inflight.length) st.resend = setTimeout(() => flush(st, true), RESEND_MS);
}

function update(st, data) {
  st.data = data;
  const acked = (data.acked ?? {})[st.client] ?? 0;
  st.inflight = st.inflight.filter((b) => b.seq > acked);
  if (!st.inflight.length) clearTimeout(st.resend);
  // The server's boxes, with what this grid did and the server has not applied yet on top.
  st.boxes = data.boxes.map((b) => ({ ...b }));
  for (const batch of st.inflight) for (const op of batch.ops) applyOp(st, op);
  for (const op of st.queue) applyOp(st, op);
  if (!st.boxes.some((b) => b.id === st.selected)) {
    const wanted = st.boxes.find((b) => b.id === data.selected);
    const open = data.review ? (b) => !b.reviewed : (b) => b.label === "None";
    st.selected = (wanted ?? st.boxes.find(open) ?? st.boxes[0])?.id ?? null;
  }
  st.sentSelected ??= st.selected;
  render(st);
  const msgs = data.refused ?? [];
  st.note.replaceChildren(...msgs.map((m) => el("div", "fg-refused", m)));
}

function typing(target) {
  const t = target?.tagName;
  return t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || target?.isContentEditable;
}

function onKey(ev) {
  const st = [...STATES.values()].find((s) => s.root.isConnected && s.active);
  if (!st || ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
  const d = st.data;
  let handled = true;
  const sel = st.boxes.find((b) => b.id === st.selected);
  if (/^[0-9]$/.test(ev.key)) {
    const cat = d.categories.find((c) => String(c.key) === ev.key);
    if (cat) act(st, cat.name);
  } else if (d.review && ev.key === "Enter" && (st.focused || ev.target === document.body)) {
    // (Enter on a button or a link elsewhere keeps its own meaning)
    if (sel) act(st, sel.guess);
  } else if (d.review && (ev.key === "x" || ev.key === "X")) {
    act(st, null);
  } else if (!d.review && (ev.key === "Delete" || (ev.key === "Backspace" && st.focused))) {
    act(st, null);
  } else if (st.focused && ev.key.startsWith("Arrow")) {
    const i = st.boxes.findIndex((b) => b.id === st.selected);
    const cols = Math.max(1, Math.round(st.cells.clientWidth / (st.cells.firstChild?.offsetWidth || 1)));
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols }[ev.key];
    const j = Math.min(Math.max(i + step, 0), st.boxes.length - 1);
    if (st.boxes[j]) select(st, st.boxes[j].id);
  } else {
    handled = false;
  }
  if (handled) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }
}

if (!globalThis.__maskStudioFaceGridKeys) {
  globalThis.__maskStudioFaceGridKeys = true;
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("pagehide", () => STATES.forEach((s) => flush(s)));
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data || !data.key) return;
  let st = STATES.get(data.key);
  if (!st || st.data?.image !== data.image) {
    st = newState(data.key);
    STATES.set(data.key, st);
  }
  for (const other of STATES.values()) other.active = other === st;
  st.send = setTriggerValue;
  if (st.root.parentNode !== parentElement) parentElement.appendChild(st.root);
  update(st, data);
  if (st.inflight.length && !st.resend) st.resend = setTimeout(() => flush(st, true), RESEND_MS);
  return () => flush(st);
}
