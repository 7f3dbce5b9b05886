// The picker's logic, with no page and no ComfyUI in it, so that Node's test runner checks it
// (tests/js): which images are kept, what a key does, and the answer the node waits for.
// tastebud_picker.js draws it in ComfyUI's page. The keys are those of tastebud's own review
// page: arrows move, S keeps or un-keeps, Enter keeps the marked ones, R rejects all.

export const SHOW = "tastebud.pick";
export const CLOSE = "tastebud.pick.closed";

/** Where ComfyUI serves a saved preview (its /view route), from send_sync's image entry. */
export function previewPath(image) {
  const query = new URLSearchParams({
    filename: image.filename,
    subfolder: image.subfolder || "",
    type: image.type || "temp",
  });
  return `/view?${query}`;
}

/** The route that takes the answer to one pick (picker.py's ROUTE). */
export function answerPath(pickId) {
  return `/tastebud/picker/${encodeURIComponent(pickId)}`;
}

export class Pick {
  constructor(message) {
    this.id = message.pick_id;
    this.images = message.images || [];
    this.prompt = message.prompt || "";
    this.checkpoint = message.checkpoint || "";
    this.kept = new Set();
    this.focus = 0;
  }

  toggle(index = this.focus) {
    if (index < 0 || index >= this.images.length) return;
    this.focus = index;
    if (this.kept.has(index)) this.kept.delete(index);
    else this.kept.add(index);
  }

  move(step) {
    if (!this.images.length) return;
    this.focus = Math.min(this.images.length - 1, Math.max(0, this.focus + step));
  }

  /** The answer for an outcome ("advance", "reject_all" or "skip"), or null with a reason
   * when it cannot be given yet (Keep with nothing marked). */
  answer(outcome) {
    if (outcome === "advance") {
      if (!this.kept.size) return { error: "Mark at least one image to keep (S or a click), or Reject all." };
      return { outcome, kept: [...this.kept].sort((a, b) => a - b) };
    }
    return { outcome, kept: [] };
  }

  /** What a key does: moves and marks change the pick and give null, the outcomes give the
   * answer to send, and a key the picker does not use gives undefined (left to the page).
   * `columns` is how many images a row of the grid shows. */
  key(name, columns = 4) {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns };
    if (name in moves) {
      this.move(moves[name]);
      return null;
    }
    switch (name.length === 1 ? name.toLowerCase() : name) {
      case "s":
      case " ":
        this.toggle();
        return null;
      case "Enter":
        return this.answer("advance");
      case "r":
        return this.answer("reject_all");
      case "Escape":
        return this.answer("skip");
      default:
        return undefined;
    }
  }
}

/** Post an answer with ComfyUI's `api.fetchApi`; resolves to null, or to the reason it was
 * not taken (the node stopped waiting, or ComfyUI is gone). */
export async function sendAnswer(fetchApi, pickId, answer) {
  let response;
  try {
    response = await fetchApi(answerPath(pickId), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(answer),
    });
  } catch (error) {
    return `ComfyUI did not answer (${error.message || error})`;
  }
  if (response.ok) return null;
  try {
    return (await response.json()).error || `ComfyUI answered ${response.status}`;
  } catch {
    return `ComfyUI answered ${response.status}`;
  }
}
