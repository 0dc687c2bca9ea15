import { describe, expect, it } from "vitest";
import { ApiError, errorMessage, toApiError } from "./errors";

describe("toApiError", () => {
  it("reads the server's error shape", () => {
    const err = toApiError(422, {
      error: {
        code: "invalid_definition",
        message: "The workflow has problems",
        details: [{ node_id: "validate_1", field: "config.rules", message: "Add at least one rule" }],
      },
    });
    expect(err.code).toBe("invalid_definition");
    expect(err.problems).toEqual([{ node_id: "validate_1", field: "config.rules", message: "Add at least one rule" }]);
    expect(errorMessage(err)).toBe("The workflow has problems: Add at least one rule");
  });

  it("says a problem once when the message already names it", () => {
    const err = toApiError(422, {
      error: { code: "invalid_input", message: "name: String should have at least 1 character", details: [{ field: "name", message: "String should have at least 1 character" }] },
    });
    expect(errorMessage(err)).toBe("name: String should have at least 1 character");
  });

  it("falls back to words for the status when the body says nothing", () => {
    expect(toApiError(403, null).message).toBe("You do not have permission to do this.");
    expect(toApiError(502, "<html>bad gateway</html>").message).toBe("The server cannot be reached.");
  });

  it("reads FastAPI's detail shape", () => {
    expect(toApiError(404, { detail: "Workflow not found" }).message).toBe("Workflow not found");
    expect(toApiError(422, { detail: [{ loc: ["body"], msg: "field required" }] }).message).toBe("field required");
  });

  it("says a network failure plainly", () => {
    expect(errorMessage(new TypeError("Failed to fetch"))).toMatch(/cannot be reached/);
    expect(errorMessage(new ApiError(500, "x", "Boom"))).toBe("Boom");
  });
});
