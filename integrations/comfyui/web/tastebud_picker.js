// TastebudPicker's side in ComfyUI's page: when the node sends a batch (picker.py's
// send_sync), show it over the page; the person marks the keepers and answers; the answer goes
// back to the waiting node. The logic is in pick.js; this file only draws and listens.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { CLOSE, Pick, SHOW, previewPath, sendAnswer } from "./pick.js";

const STYLE = `
.tastebud-pick { position: fixed; inset: 0; z-index: 10000; background: rgb(0 0 0 / 0.85);
  color: #eee; font: 14px system-ui, sans-serif; display: flex; flex-direction: column; padding: 16px; gap: 12px; }
.tastebud-pick header { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.tastebud-pick .prompt { opacity: 0.8; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tastebud-pick .grid { flex: 1; overflow: auto; display: grid; gap: 8px;
  grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); align-content: start; }
.tastebud-pick figure { margin: 0; border: 3px solid transparent; border-radius: 6px; cursor: pointer; }
.tastebud-pick figure img { width: 100%; display: block; border-radius: 3px; }
.tastebud-pick figure.focus { border-color: #888; }
.tastebud-pick figure.kept { border-color: #3c9; }
.tastebud-pick footer { display: flex; gap: 8px; align-items: center; }
.tastebud-pick .why { color: #f99; }
`;

let open = null; // { pick, root } while a batch is shown

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function close(pickId) {
  if (!open || (pickId && open.pick.id !== pickId)) return;
  open.root.remove();
  document.removeEventListener("keydown", onKey, true);
  open = null;
}

function draw() {
  const { pick, root } = open;
  root.querySelectorAll("figure").forEach((figure, index) => {
    figure.classList.toggle("kept", pick.kept.has(index));
    figure.classList.toggle("focus", pick.focus === index);
  });
  root.querySelector(".count").textContent = `${pick.kept.size} of ${pick.images.length} kept`;
}

async function answer(result) {
  if (!open || !result) return;
  const why = open.root.querySelector(".why");
  if (result.error) {
    why.textContent = result.error;
    return;
  }
  const pickId = open.pick.id;
  const problem = await sendAnswer(api.fetchApi.bind(api), pickId, result);
  if (problem) why.textContent = problem;
  else close(pickId);
}

function onKey(event) {
  if (!open || event.ctrlKey || event.metaKey || event.altKey) return;
  const columns = getComputedStyle(open.root.querySelector(".grid"))
    .gridTemplateColumns.split(" ").length;
  const result = open.pick.key(event.key, columns);
  if (result === undefined) return;
  event.preventDefault();
  event.stopPropagation(); // the keys are the picker's while it is open, not the graph's
  if (result) answer(result);
  else draw();
}

function show(message) {
  close();
  const pick = new Pick(message);
  const button = (label, outcome) => {
    const node = element("button", { type: "button", "data-outcome": outcome }, label);
    node.addEventListener("click", () => answer(pick.answer(outcome)));
    return node;
  };
  const grid = element("div", { class: "grid" }, ...pick.images.map((image, index) => {
    const figure = element("figure", { "data-index": String(index) },
      element("img", { src: api.apiURL(previewPath(image)), alt: `image ${index + 1}` }));
    figure.addEventListener("click", () => { pick.toggle(index); draw(); });
    return figure;
  }));
  const root = element("div", { class: "tastebud-pick", role: "dialog", "aria-label": "tastebud: keep or reject" },
    element("style", {}, STYLE),
    element("header", {}, element("strong", {}, "tastebud"),
      element("span", {}, pick.checkpoint), element("span", { class: "prompt" }, pick.prompt)),
    grid,
    element("footer", {}, button("Keep marked (Enter)", "advance"), button("Reject all (R)", "reject_all"),
      button("Skip (Esc)", "skip"), element("span", { class: "count" }), element("span", { class: "why" })));
  open = { pick, root };
  document.body.append(root);
  document.addEventListener("keydown", onKey, true);
  draw();
}

app.registerExtension({
  name: "tastebud.picker",
  setup() {
    api.addEventListener(SHOW, (event) => show(event.detail));
    api.addEventListener(CLOSE, (event) => close(event.detail.pick_id));
  },
});
