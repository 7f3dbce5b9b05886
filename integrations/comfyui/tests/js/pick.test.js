// The picker's logic (web/pick.js) under Node's test runner: `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Pick, answerPath, previewPath, sendAnswer } from "../../web/pick.js";

const MESSAGE = {
  pick_id: "abc123",
  prompt: "a beach at sunset",
  checkpoint: "sdxl/epicrealismXL_pureFix.safetensors",
  images: [0, 1, 2, 3, 4].map((i) => ({ filename: `tastebud.pick_0000${i}_.png`, subfolder: "", type: "temp" })),
};

test("a preview is asked of ComfyUI's /view route, its name escaped", () => {
  assert.equal(previewPath({ filename: "a b&c.png", subfolder: "x/y", type: "temp" }),
    "/view?filename=a+b%26c.png&subfolder=x%2Fy&type=temp");
  assert.equal(answerPath("ab/c"), "/tastebud/picker/ab%2Fc");
});

test("S and a click mark and unmark the focused image; Enter keeps the marked ones", () => {
  const pick = new Pick(MESSAGE);
  assert.equal(pick.key("ArrowRight"), null);
  assert.equal(pick.key("s"), null); // image 1 marked
  pick.toggle(3); // a click on image 3 marks it and moves the focus there
  assert.equal(pick.focus, 3);
  assert.equal(pick.key("ArrowLeft"), null);
  assert.equal(pick.key("S"), null); // image 2 marked
  assert.equal(pick.key(" "), null);  // and unmarked again
  assert.deepEqual(pick.key("Enter"), { outcome: "advance", kept: [1, 3] });
});

test("Keep with nothing marked is refused with a reason, not sent", () => {
  const result = new Pick(MESSAGE).key("Enter");
  assert.match(result.error, /at least one/);
  assert.equal(result.outcome, undefined);
});

test("R rejects all and Escape skips, whatever is marked", () => {
  const pick = new Pick(MESSAGE);
  pick.toggle(0);
  assert.deepEqual(pick.key("r"), { outcome: "reject_all", kept: [] });
  assert.deepEqual(pick.key("Escape"), { outcome: "skip", kept: [] });
});

test("arrows stay inside the batch and move by rows; other keys are left to the page", () => {
  const pick = new Pick(MESSAGE);
  pick.key("ArrowLeft");
  assert.equal(pick.focus, 0);
  pick.key("ArrowDown", 2);
  pick.key("ArrowDown", 2);
  assert.equal(pick.focus, 4);
  pick.key("ArrowDown", 2);
  assert.equal(pick.focus, 4);
  assert.equal(pick.key("q"), undefined);
  assert.equal(pick.key("Tab"), undefined);
  assert.equal(pick.kept.size, 0);
});

test("the answer is posted as JSON to the pick's route", async () => {
  const calls = [];
  const fetchApi = async (path, options) => {
    calls.push({ path, options });
    return new Response("{}", { status: 200 });
  };
  assert.equal(await sendAnswer(fetchApi, "abc123", { outcome: "advance", kept: [0, 2] }), null);
  assert.equal(calls[0].path, "/tastebud/picker/abc123");
  assert.equal(calls[0].options.method, "POST");
  assert.deepEqual(JSON.parse(calls[0].options.body), { outcome: "advance", kept: [0, 2] });
});

test("an answer the node no longer waits for, or a ComfyUI that is gone, gives the reason", async () => {
  const late = async () => new Response(JSON.stringify({ error: "no pick is waiting under this id" }), { status: 404 });
  assert.equal(await sendAnswer(late, "x", { outcome: "skip", kept: [] }), "no pick is waiting under this id");
  const gone = async () => { throw new TypeError("Failed to fetch"); };
  assert.equal(await sendAnswer(gone, "x", { outcome: "skip", kept: [] }), "ComfyUI did not answer (Failed to fetch)");
  const odd = async () => new Response("<html>", { status: 502 });
  assert.equal(await sendAnswer(odd, "x", { outcome: "skip", kept: [] }), "ComfyUI answered 502");
});
