import { describe, expect, it } from "vitest";
import {
  compareVersions,
  definitionParams,
  literalTemplate,
  templateVariables,
  type WorkflowVersion,
} from "./workflows";

function version(
  number: number,
  prompt_template: string,
  params: Record<string, unknown>,
  note: string | null,
) {
  return {
    id: `wfv_${number}`,
    workflow_id: "wf_1",
    version: number,
    definition: { kind: "image", model: "local-image", prompt_template, params },
    note,
    created_at: "2026-01-01T00:00:00Z",
  } satisfies WorkflowVersion;
}

describe("templateVariables reads a template as the server does", () => {
  it("names each variable once, in order", () => {
    expect(templateVariables("a {animal} in {place}, {animal} again")).toEqual(["animal", "place"]);
  });
  it("treats doubled braces as literal braces", () => {
    expect(templateVariables("{{not a variable}} but {this}")).toEqual(["this"]);
  });
  it("names a variable by what precedes its conversion or format spec", () => {
    expect(templateVariables("{size:>4} {name!r}")).toEqual(["size", "name"]);
  });
  it("finds none in a plain prompt", () => {
    expect(templateVariables("a heron in the reeds")).toEqual([]);
  });
});

describe("literalTemplate", () => {
  it("keeps a job's prompt as it was, braces and all, with no variables", () => {
    const template = literalTemplate("a {curly} sign }{");
    expect(template).toBe("a {{curly}} sign }}{{");
    expect(templateVariables(template)).toEqual([]);
  });
});

describe("compareVersions says how each setting differs, in words", () => {
  it("marks changed, added, removed and same settings", () => {
    const rows = compareVersions(
      version(1, "a {animal}", { width: 512, seed: 7 }, "first"),
      version(2, "a {animal} at dusk", { width: 512, steps: 20 }, "first"),
    );
    const change = Object.fromEntries(rows.map((row) => [row.setting, row.change]));
    expect(change).toEqual({
      Kind: "Same",
      Model: "Same",
      "Prompt template": "Changed",
      "Parameter seed": "Removed",
      "Parameter steps": "Added",
      "Parameter width": "Same",
      Note: "Same",
    });
  });
});

describe("definitionParams", () => {
  it("keeps only plain values", () => {
    expect(definitionParams({ width: 64, style: "ink", tiled: false, nested: { a: 1 }, none: null })).toEqual(
      {
        width: 64,
        style: "ink",
        tiled: false,
      },
    );
  });
});
