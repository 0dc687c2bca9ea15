import { describe, expect, it } from "vitest";
import {
  describeField,
  describeObject,
  emptyValue,
  fieldKind,
  insideTemplate,
  localProblem,
  parseNumber,
  problemsAt,
  suggest,
  tokenBefore,
  unwrapNullable,
  variantFor,
  withValue,
  type JsonSchema,
} from "./schema";

// What pydantic v2 answers for a Config like DataValidator's.
const validator: JsonSchema = {
  title: "Config",
  type: "object",
  additionalProperties: false,
  $defs: {
    Rule: {
      title: "Rule",
      type: "object",
      properties: {
        field: { title: "Field", type: "string" },
        check: { title: "Check", enum: ["required", "range", "pattern"], type: "string" },
        min: { anyOf: [{ type: "number" }, { type: "null" }], default: null, title: "Min" },
      },
      required: ["field", "check"],
    },
    Severity: { title: "Severity", enum: ["error", "warning"], type: "string" },
  },
  properties: {
    rules: { title: "Rules", type: "array", items: { $ref: "#/$defs/Rule" }, description: "Checks run on every item" },
    severity: { $ref: "#/$defs/Severity", default: "error" },
    score_field: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Score Field" },
    threshold: { title: "Threshold", type: "number", minimum: 0, maximum: 1, default: 0.8 },
    max_items: { title: "Max Items", type: "integer" },
    stop_on_first: { title: "Stop On First", type: "boolean", default: false },
    condition: { title: "Condition", type: "string", format: "expression" },
    message: { anyOf: [{ type: "string", format: "template" }, { type: "null" }], default: null, title: "Message" },
    tags: { type: "array", items: { enum: ["a", "b"], type: "string" }, title: "Tags" },
    headers: { type: "object", additionalProperties: { type: "string" }, title: "Headers" },
    options: { title: "Options", type: "object", properties: { strict: { type: "boolean", title: "Strict" } } },
    recipients: { anyOf: [{ type: "string", format: "template" }, { type: "array", items: { type: "string" } }], title: "Recipients" },
    anything: { title: "Anything" },
    mode: { anyOf: [{ const: "all", title: "All items" }, { const: "first", title: "First item" }], default: "all" },
    api_key: { type: "string", writeOnly: true, format: "password", title: "Api Key" },
  },
  required: ["rules", "condition", "max_items"],
};

const fields = describeObject(validator);
const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));

describe("schema → config panel fields", () => {
  it("lists properties in order with sentence-case labels and required marks", () => {
    expect(fields.map((f) => f.key)).toEqual(Object.keys(validator.properties!));
    expect(byKey.score_field.label).toBe("Score field");
    expect(byKey.rules.required).toBe(true);
    expect(byKey.threshold.required).toBe(false);
    expect(byKey.rules.description).toBe("Checks run on every item");
  });

  it("picks an input for each kind of property", () => {
    const kinds = Object.fromEntries(fields.map((f) => [f.key, f.kind]));
    expect(kinds).toEqual({
      rules: "list",
      severity: "enum",
      score_field: "string",
      threshold: "number",
      max_items: "integer",
      stop_on_first: "boolean",
      condition: "expression",
      message: "template",
      tags: "multi-enum",
      headers: "map",
      options: "object",
      recipients: "union",
      anything: "json",
      mode: "enum",
      api_key: "secret",
    });
  });

  it("resolves $ref and keeps the property's default", () => {
    expect(byKey.severity.options!.map((o) => o.value)).toEqual(["error", "warning"]);
    expect(byKey.severity.default).toBe("error");
    expect(byKey.severity.hasDefault).toBe(true);
  });

  it("takes the null branch off optionals", () => {
    expect(byKey.score_field.nullable).toBe(true);
    expect(byKey.message.nullable).toBe(true);
    expect(byKey.condition.nullable).toBe(false);
    const { schema, nullable } = unwrapNullable({ type: ["integer", "null"] }, {});
    expect(schema.type).toBe("integer");
    expect(nullable).toBe(true);
  });

  it("reads const-branch unions as a select with titles", () => {
    expect(byKey.mode.options).toEqual([
      { value: "all", label: "All items" },
      { value: "first", label: "First item" },
    ]);
  });

  it("describes list items and nested objects through $defs", () => {
    const item = byKey.rules.schema.items as JsonSchema;
    const inner = describeObject(item, validator);
    expect(inner.map((f) => [f.key, f.kind, f.required])).toEqual([
      ["field", "string", true],
      ["check", "enum", true],
      ["min", "number", false],
    ]);
    expect(emptyValue(item, validator)).toEqual({ field: "", check: "required" });
  });

  it("offers the variants of a union and picks the one that fits a value", () => {
    const variants = byKey.recipients.variants!;
    expect(variants.map((v) => v.label)).toEqual(["Text", "List"]);
    expect(variantFor("{{database.suppliers}}", variants, validator)).toBe(0);
    expect(variantFor(["a@x.com"], variants, validator)).toBe(1);
    expect(fieldKind(variants[1].schema, validator)).toBe("list");
  });

  it("starts new values from defaults or empties", () => {
    expect(emptyValue({ type: "string" }, {})).toBe("");
    expect(emptyValue({ type: "integer", minimum: 1 }, {})).toBe(1);
    expect(emptyValue({ type: "array", items: { type: "string" } }, {})).toEqual([]);
    expect(emptyValue({ type: "boolean", default: true }, {})).toBe(true);
  });
});

describe("values", () => {
  it("removes a key set to undefined so the server default applies", () => {
    expect(withValue({ a: 1, b: 2 }, "a", undefined)).toEqual({ b: 2 });
    expect(withValue(undefined, "a", 0)).toEqual({ a: 0 });
  });

  it("parses numbers and keeps bad text for the person to fix", () => {
    expect(parseNumber("", false)).toBeUndefined();
    expect(parseNumber(" 0.5 ", false)).toBe(0.5);
    expect(parseNumber("2.5", true)).toBe("2.5");
    expect(parseNumber("abc", false)).toBe("abc");
  });

  it("says what is wrong with a value in plain words", () => {
    expect(localProblem(byKey.max_items, undefined)).toBe("Required");
    expect(localProblem(byKey.score_field, undefined)).toBeNull();
    expect(localProblem(byKey.threshold, 2)).toBe("At most 1");
    expect(localProblem(byKey.max_items, "2.5")).toBe("Enter a whole number");
    expect(localProblem(byKey.threshold, 0.5)).toBeNull();
  });

  it("finds server problems for a field path", () => {
    const problems = [
      { field: "config.rules", message: "Add a rule" },
      { field: "config.rules.0.field", message: "Name a field" },
      { field: null, message: "No trigger" },
    ];
    expect(problemsAt(problems, ["rules"])).toEqual(["Add a rule"]);
    expect(problemsAt(problems, ["rules", 0, "field"])).toEqual(["Name a field"]);
  });
});

describe("expression hints", () => {
  const upstream = { validate_1: ["score", "valid"], form_1: ["email"] };

  it("suggests upstream node ids, their fields and built-in names", () => {
    const all = suggest("", upstream, ["amount"]).map((s) => s.value);
    expect(all).toContain("validate_1");
    expect(all).toContain("item.amount");
    expect(all).toContain("trigger");
    expect(suggest("validate_1.", upstream).map((s) => s.value)).toEqual(["validate_1.score", "validate_1.valid", "validate_1.items"]);
    expect(suggest("val", upstream)[0].value).toBe("validate_1");
  });

  it("reads the name before the cursor and whether it is inside {{ }}", () => {
    expect(tokenBefore("validate_1.sc", 13)).toBe("validate_1.sc");
    expect(tokenBefore("a > validate_1.", 15)).toBe("validate_1.");
    expect(tokenBefore("1 + ", 4)).toBe("");
    expect(insideTemplate("Hello {{ item.na", 16)).toBe(true);
    expect(insideTemplate("Hello {{ item.name }} x", 23)).toBe(false);
  });
});

// pydantic's output for a list of presets or tagged rule objects, and a tagged auth union.
const tagged: JsonSchema = {
  type: "object",
  $defs: {
    RangeRule: {
      title: "RangeRule",
      type: "object",
      description: "A number must lie between a minimum and a maximum.",
      properties: {
        weight: { type: "number", default: 1, title: "Weight", "x-group": "advanced" },
        type: { const: "range", title: "Type", type: "string" },
        field: { type: "string", minLength: 1, title: "Field" },
        min: { anyOf: [{ type: "number" }, { type: "null" }], default: null },
      },
      required: ["type", "field"],
    },
    RequiredFieldsRule: {
      title: "RequiredFieldsRule",
      type: "object",
      properties: { type: { const: "required_fields", type: "string" }, fields: { type: "array", items: { type: "string" } } },
      required: ["type", "fields"],
    },
    NoAuth: { title: "NoAuth", type: "object", properties: { type: { const: "none", type: "string" } }, required: ["type"] },
    BearerAuth: {
      title: "BearerAuth",
      type: "object",
      properties: { type: { const: "bearer", type: "string" }, token: { type: "string", format: "template", writeOnly: true } },
      required: ["type", "token"],
    },
  },
  properties: {
    rules: {
      type: "array",
      title: "Rules",
      items: {
        anyOf: [
          { enum: ["required_fields", "outlier_check"], type: "string" },
          {
            discriminator: { propertyName: "type", mapping: { range: "#/$defs/RangeRule", required_fields: "#/$defs/RequiredFieldsRule" } },
            oneOf: [{ $ref: "#/$defs/RequiredFieldsRule" }, { $ref: "#/$defs/RangeRule" }],
          },
        ],
      },
    },
    auth: {
      title: "Auth",
      discriminator: { propertyName: "type", mapping: { none: "#/$defs/NoAuth", bearer: "#/$defs/BearerAuth" } },
      oneOf: [{ $ref: "#/$defs/NoAuth" }, { $ref: "#/$defs/BearerAuth" }],
    },
    pagination: { anyOf: [{ oneOf: [{ $ref: "#/$defs/NoAuth" }, { $ref: "#/$defs/BearerAuth" }] }, { type: "null" }], default: null },
  },
};

describe("tagged unions", () => {
  const [rules, auth, pagination] = describeObject(tagged);

  it("flattens nested unions and names members by their tag", () => {
    const item = describeField("item", rules.schema.items as JsonSchema, tagged, true);
    expect(item.kind).toBe("union");
    expect(item.variants!.map((v) => v.label)).toEqual(["Preset", "Required fields", "Range"]);
    expect(auth.kind).toBe("union");
    expect(auth.variants!.map((v) => v.label)).toEqual(["None", "Bearer"]);
    expect(pagination.nullable).toBe(true);
    expect(pagination.variants!.map((v) => v.label)).toEqual(["None", "Bearer"]);
  });

  it("finds the member of a tagged value, and a preset by its value", () => {
    const item = describeField("item", rules.schema.items as JsonSchema, tagged, true);
    expect(variantFor("outlier_check", item.variants!, tagged)).toBe(0);
    expect(variantFor({ type: "range", field: "scope1" }, item.variants!, tagged)).toBe(2);
    expect(variantFor({ type: "bearer", token: "x" }, auth.variants!, tagged)).toBe(1);
  });

  it("starts a member with its tag set, hides the tag, and folds advanced fields", () => {
    const range = describeField("item", rules.schema.items as JsonSchema, tagged, true).variants![2].schema;
    expect(emptyValue(range, tagged)).toEqual({ type: "range", field: "" });
    const fields = describeObject(range, tagged);
    expect(fields.find((f) => f.key === "type")!.fixed).toBe(true);
    expect(fields.find((f) => f.key === "weight")!.group).toBe("advanced");
    expect(fields.find((f) => f.key === "field")!.fixed).toBeUndefined();
  });
});
