import { describe, expect, it } from "vitest";
import { pageCount } from "./table";

describe("a list's pages", () => {
  it("are as many as the rows fill, at least one", () => {
    expect(pageCount(undefined, 50)).toBe(1);
    expect(pageCount(0, 50)).toBe(1);
    expect(pageCount(50, 50)).toBe(1);
    expect(pageCount(51, 50)).toBe(2);
    expect(pageCount(101, 25)).toBe(5);
  });
});
