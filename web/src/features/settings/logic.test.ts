import { describe, expect, it } from "vitest";
import type { UserRead } from "./api";
import { addableUsers, auditAction, auditChanges, keyRolesFor, keyState, newUserProblems, roleLabel, sortKeys } from "./logic";

const user = (id: string, name: string, active = true): UserRead => ({ id, email: `${id}@example.com`, name, role: "reviewer", active });

describe("roles", () => {
  it("gives an API key no more rights than the user who makes it", () => {
    expect(keyRolesFor("admin")).toEqual(["admin", "builder", "reviewer", "viewer"]);
    expect(keyRolesFor("builder")).toEqual(["builder", "reviewer", "viewer"]);
    expect(keyRolesFor("viewer")).toEqual(["viewer"]);
    expect(keyRolesFor(undefined)).toEqual([]);
  });

  it("names roles in words", () => {
    expect(roleLabel("reviewer")).toBe("Reviewer");
    expect(roleLabel("something-new")).toBe("something-new");
  });
});

describe("API keys", () => {
  it("lists active keys first, newest first, and revoked ones after", () => {
    const keys = [
      { id: "a", created_at: "2025-01-01T00:00:00Z", revoked_at: null },
      { id: "b", created_at: "2025-03-01T00:00:00Z", revoked_at: "2025-04-01T00:00:00Z" },
      { id: "c", created_at: "2025-02-01T00:00:00Z", revoked_at: null },
    ];
    expect(sortKeys(keys).map((k) => k.id)).toEqual(["c", "a", "b"]);
    expect(keys.map(keyState)).toEqual(["active", "revoked", "active"]);
  });
});

describe("teams", () => {
  it("offers active users who are not in the team yet, by name", () => {
    const users = [user("zoe", "Zoe"), user("anna", "Anna"), user("old", "Old", false), user("ben", "Ben")];
    const team = { members: [{ user_id: "ben", email: "ben@example.com", name: "Ben", role: "lead", user_role: "reviewer", active: true, added_at: "" }] };
    expect(addableUsers(users, team).map((u) => u.id)).toEqual(["anna", "zoe"]);
    expect(addableUsers(users, undefined).map((u) => u.id)).toEqual(["anna", "ben", "zoe"]);
  });
});

describe("a new user", () => {
  it("needs an email address and a password before it is sent", () => {
    expect(newUserProblems({ email: "", password: "" })).toEqual({ email: "Required", password: "Required" });
    expect(newUserProblems({ email: "not an email", password: "x" })).toEqual({ email: "Not an email address" });
    // the server judges the password's strength, and says so
    expect(newUserProblems({ email: "anna@example.com", password: "short" })).toEqual({});
  });
});

describe("the audit log", () => {
  it("shows only the fields a change changed", () => {
    expect(auditChanges({ role: "viewer", active: true, name: "Anna" }, { role: "reviewer", active: true, name: "Anna" })).toEqual([
      { field: "role", before: "viewer", after: "reviewer" },
    ]);
  });

  it("shows what was created, and what was deleted", () => {
    expect(auditChanges(null, { email: "a@b.c", role: "viewer" })).toEqual([
      { field: "email", before: "", after: "a@b.c" },
      { field: "role", before: "", after: "viewer" },
    ]);
    expect(auditChanges({ name: "ERP import" }, null)).toEqual([{ field: "name", before: "ERP import", after: "" }]);
    expect(auditChanges(null, null)).toEqual([]);
    expect(auditChanges(undefined, ["a"])).toEqual([{ field: "", before: "", after: '["a"]' }]);
  });

  it("writes nested values as JSON and null as none", () => {
    expect(auditChanges({ port: 587, tls: { verify: true } }, { port: null, tls: { verify: false } })).toEqual([
      { field: "port", before: "587", after: "none" },
      { field: "tls", before: '{"verify":true}', after: '{"verify":false}' },
    ]);
  });

  it("names actions in words", () => {
    expect(auditAction("api_key.revoke")).toBe("API key revoked");
    expect(auditAction("user.update")).toBe("User changed");
    expect(auditAction("webhook_subscription.create")).toBe("Webhook subscription created");
    expect(auditAction("workflow.activate")).toBe("Workflow activated");
    expect(auditAction("login")).toBe("Login");
  });
});
