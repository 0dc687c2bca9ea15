import { describe, expect, it } from "vitest";
import { addField, blankForm, findField, updateField } from "./state";
import { createBuilderStore } from "./store";

describe("the builder's store", () => {
  it("undoes and redoes changes, quick edits of one setting as one step", () => {
    let t = 0;
    const store = createBuilderStore(blankForm(), null, false, () => t);
    const first = store.getState().doc.pages[0].fields[0]._uid;
    const type = (label: string) => store.getState().change((d) => updateField(d, first, { label }), `${first}:label`);
    type("Y");
    t += 300;
    type("Yo");
    t += 300;
    type("You");
    t += 5000;
    store.getState().change((d) => addField(d, "email", { page: d.pages[0]._uid })[0]);
    expect(store.getState().past).toHaveLength(2);
    expect(store.getState().dirty).toBe(true);
    store.getState().undo();
    expect(store.getState().doc.pages[0].fields).toHaveLength(1);
    store.getState().undo();
    expect(findField(store.getState().doc, first)!.field.label).toBe("Your name");
    store.getState().redo();
    expect(findField(store.getState().doc, first)!.field.label).toBe("You");
    expect(store.getState().future).toHaveLength(1);
  });

  it("drops the server's problems on a field once that field is changed", () => {
    const store = createBuilderStore(blankForm(), null);
    const first = store.getState().doc.pages[0].fields[0]._uid;
    store.getState().setProblems([{ uid: first, message: "bad pattern" }, { uid: null, message: "form problem" }]);
    store.getState().change((d) => updateField(d, first, { pattern: "x" }), `${first}:pattern`);
    expect(store.getState().problems).toEqual([{ uid: null, message: "form problem" }]);
  });

  it("changes nothing when read-only, and a save clears the problems", () => {
    const store = createBuilderStore(blankForm(), null, true);
    const before = store.getState().doc;
    store.getState().change((d) => addField(d, "email", { page: d.pages[0]._uid })[0]);
    expect(store.getState().doc).toBe(before);
    store.getState().setProblems([{ uid: null, message: "x" }]);
    store.getState().markSaved({ key: "new_form_v1", name: "new_form", version: "1" });
    expect(store.getState().problems).toEqual([]);
    expect(store.getState().saved?.key).toBe("new_form_v1");
  });
});
