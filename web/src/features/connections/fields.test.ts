import { describe, expect, it } from "vitest";
import { ApiError } from "../../client/errors";
import type { ConnectionKind } from "./api";
import { buildConfig, connectionFields, fieldLabel, formError, initialValues, testSummary, visibleFields, whereTo } from "./fields";

// As GET /api/connections/kinds answers them (pydantic's JSON Schema, secrets marked writeOnly).
const nullable = (s: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ anyOf: [s, { type: "null" }], default: null, ...extra });
const secret = (extra: Record<string, unknown> = {}) => nullable({ type: "string", format: "password", writeOnly: true }, { writeOnly: true, ...extra });

const smtp: ConnectionKind = {
  kind: "smtp",
  secrets: ["password"],
  config_schema: {
    type: "object",
    additionalProperties: false,
    required: ["host"],
    properties: {
      verify_tls: { type: "boolean", default: true, title: "Verify Tls", description: "Check the server's TLS certificate (leave on)." },
      ca_cert: nullable({ type: "string" }, { title: "Ca Cert" }),
      host: { type: "string", minLength: 1, title: "Host", description: "SMTP server name." },
      port: { type: "integer", default: 587, minimum: 1, maximum: 65535, title: "Port" },
      security: { type: "string", enum: ["starttls", "tls", "none"], default: "starttls", title: "Security" },
      username: nullable({ type: "string" }, { title: "Username" }),
      password: secret({ title: "Password" }),
      from_address: nullable({ type: "string" }, { title: "From Address" }),
    },
  },
};

const http: ConnectionKind = {
  kind: "http",
  secrets: ["password", "token"],
  config_schema: {
    type: "object",
    required: ["base_url"],
    properties: {
      base_url: { type: "string", title: "Base Url" },
      auth_type: { type: "string", enum: ["none", "basic", "bearer"], default: "none" },
      username: nullable({ type: "string" }),
      password: secret(),
      token: secret(),
    },
  },
};

const imapPassword: ConnectionKind = {
  kind: "imap",
  secrets: ["password"],
  config_schema: {
    type: "object",
    required: ["host", "password"],
    properties: { host: { type: "string" }, password: { type: "string", format: "password", writeOnly: true } },
  },
};

describe("connection fields", () => {
  it("draws each field with the input its type needs, TLS details last", () => {
    const fields = connectionFields(smtp);
    expect(fields.map((f) => [f.key, f.input])).toEqual([
      ["host", "string"],
      ["port", "integer"],
      ["security", "enum"],
      ["username", "string"],
      ["password", "secret"],
      ["from_address", "string"],
      ["verify_tls", "boolean"],
      ["ca_cert", "text"],
    ]);
    const host = fields.find((f) => f.key === "host")!;
    expect(host.required).toBe(true);
    expect(fields.find((f) => f.key === "port")!.required).toBe(false);
    expect(fields.find((f) => f.key === "security")!.options).toEqual(["starttls", "tls", "none"]);
    expect(fields.filter((f) => f.advanced).map((f) => f.key)).toEqual(["verify_tls", "ca_cert"]);
  });

  it("labels fields in words people use", () => {
    expect(fieldLabel("base_url")).toBe("Base URL");
    expect(fieldLabel("ca_cert")).toBe("CA certificate");
    expect(fieldLabel("api_key_name")).toBe("API key name");
    expect(fieldLabel("from_address")).toBe("From address");
    expect(fieldLabel("starttls")).toBe("STARTTLS");
  });

  it("starts a new connection from the kind's defaults and an edited one from its stored values, secrets empty", () => {
    const fields = connectionFields(smtp);
    expect(initialValues(fields)).toMatchObject({ host: "", port: "587", security: "starttls", verify_tls: true, password: "", username: "" });
    const stored = initialValues(fields, { config: { host: "mail.example.com", port: 465, security: "tls", verify_tls: false, username: "bot" } });
    expect(stored).toMatchObject({ host: "mail.example.com", port: "465", security: "tls", verify_tls: false, username: "bot", password: "" });
  });

  it("shows an HTTP connection only the fields of its chosen authentication", () => {
    const fields = connectionFields(http);
    const keys = (auth: string) => visibleFields("http", fields, { auth_type: auth }).map((f) => f.key);
    expect(keys("none")).toEqual(["base_url", "auth_type"]);
    expect(keys("basic")).toEqual(["base_url", "auth_type", "username", "password"]);
    expect(keys("bearer")).toEqual(["base_url", "auth_type", "token"]);
    expect(visibleFields("smtp", connectionFields(smtp), {})).toHaveLength(8);
  });
});

describe("the config sent", () => {
  const fields = connectionFields(smtp);

  it("on create leaves out empty optional fields and sends typed secrets and numbers as numbers", () => {
    const values = { ...initialValues(fields), host: " mail.example.com ", port: "2525", password: "s3cret" };
    const { config, problems } = buildConfig(fields, values, "create");
    expect(problems).toEqual({});
    expect(config).toEqual({ host: "mail.example.com", port: 2525, security: "starttls", password: "s3cret", verify_tls: true });
  });

  it("says which fields need fixing before anything is sent", () => {
    const values = { ...initialValues(fields), port: "70000" };
    expect(buildConfig(fields, values, "create").problems).toEqual({ host: "Required", port: "At most 65535" });
    expect(buildConfig(fields, { ...values, host: "h", port: "2.5" }, "create").problems).toEqual({ port: "Enter a whole number" });
  });

  it("on edit keeps a stored secret that was left empty, sends one that was typed, and clears emptied optional fields", () => {
    const values = initialValues(fields, { config: { host: "mail.example.com", port: 587, username: "bot", from_address: "a@b.c" } });
    const kept = buildConfig(fields, { ...values, from_address: "" }, "edit", { password: true });
    expect(kept.config).not.toHaveProperty("password");
    expect(kept.config).toMatchObject({ host: "mail.example.com", port: 587, username: "bot", from_address: null });
    const typed = buildConfig(fields, { ...values, password: "new-one" }, "edit", { password: true });
    expect(typed.config.password).toBe("new-one");
  });

  it("asks for a required secret on create, but not on edit when one is stored", () => {
    const f = connectionFields(imapPassword);
    expect(buildConfig(f, { host: "imap.example.com", password: "" }, "create").problems).toEqual({ password: "Required" });
    expect(buildConfig(f, { host: "imap.example.com", password: "" }, "edit", { password: true }).problems).toEqual({});
    expect(buildConfig(f, { host: "imap.example.com", password: "" }, "edit", { password: false }).problems).toEqual({ password: "Required" });
  });
});

describe("answers in words", () => {
  it("puts a refused save's field problems beside their fields", () => {
    const error = new ApiError(422, "invalid_input", "The smtp connection is not valid: host: String should have at least 1 character", [
      { field: "host", message: "String should have at least 1 character" },
      { field: null, message: "whole form" },
    ]);
    expect(formError(error)).toEqual({
      message: "The smtp connection is not valid: host: String should have at least 1 character",
      fields: { host: "String should have at least 1 character" },
    });
    expect(formError(new ApiError(409, "conflict", "A connection with the id 'x' exists already")).fields).toEqual({});
  });

  it("names the stage a test failed at", () => {
    expect(testSummary({ ok: true, stage: "ok", message: "Signed in" })).toEqual({ ok: true, title: "Works", message: "Signed in" });
    expect(testSummary({ ok: false, stage: "connect", message: "Connection refused" }).title).toBe("Failed at connecting");
    expect(testSummary({ ok: false, stage: "auth", message: "401" }).title).toBe("Failed at signing in");
    expect(testSummary({ ok: false, stage: "weird_stage", message: "?" }).title).toBe("Failed at weird stage");
  });

  it("says where a connection points", () => {
    expect(whereTo({ config: { host: "mail.example.com", port: 587 } })).toBe("mail.example.com:587");
    expect(whereTo({ config: { base_url: "https://s4.example.com", service_path: "/sap/opu/odata/sap/Z_SRV" } })).toBe("https://s4.example.com/sap/opu/odata/sap/Z_SRV");
    expect(whereTo({ config: { display_url: "postgresql://app:***@db/erp" } })).toBe("postgresql://app:***@db/erp");
    expect(whereTo({ config: { bucket: "evidence", prefix: "2025" } })).toBe("evidence/2025");
    expect(whereTo({ config: {} })).toBe("");
  });
});
