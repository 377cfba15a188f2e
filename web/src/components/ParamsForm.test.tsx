import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { ParamValues } from "../api/pricing";
import { ParamsForm, paramsToSend, type ParamSpec } from "./ParamsForm";

const SCHEMA: Record<string, ParamSpec> = {
  width: { type: "integer", minimum: 64, maximum: 1024, default: 512 },
  duration_s: { type: "number", minimum: 1, maximum: 4, default: 2 },
  quality: { type: "string", choices: ["low", "medium", "high"], default: "medium" },
  seed: { type: "integer", minimum: 0, maximum: 2147483647 },
  hdr: { type: "boolean", default: false },
};

function Harness({ onValues }: { onValues: (values: ParamValues) => void }) {
  const [values, setValues] = useState<ParamValues>({});
  return (
    <ParamsForm
      params={SCHEMA}
      values={values}
      onChange={(next) => {
        setValues(next);
        onValues(next);
      }}
    />
  );
}

describe("ParamsForm builds a form from a model's parameter schema", () => {
  it("makes a labelled control of the right kind for each parameter, with its bounds and default", () => {
    render(<Harness onValues={() => undefined} />);
    const width = screen.getByRole("spinbutton", { name: "Width" });
    expect(width).toHaveProperty("min", "64");
    expect(width).toHaveProperty("max", "1024");
    expect(width).toHaveProperty("value", "512");
    expect(screen.getByRole("spinbutton", { name: "Duration (seconds)" })).toHaveProperty("step", "any");
    expect(screen.getByRole("combobox", { name: "Quality" })).toHaveProperty("value", "medium");
    expect(screen.getByRole("spinbutton", { name: "Seed" })).toHaveProperty("value", "");
    expect(screen.getByRole("checkbox", { name: "Hdr" })).toHaveProperty("checked", false);
  });

  it("gives typed values: whole numbers for integers, the choice itself for a select", () => {
    let latest: ParamValues = {};
    render(<Harness onValues={(values) => (latest = values)} />);
    fireEvent.change(screen.getByRole("spinbutton", { name: "Width" }), { target: { value: "768" } });
    fireEvent.change(screen.getByRole("combobox", { name: "Quality" }), { target: { value: "high" } });
    fireEvent.click(screen.getByRole("checkbox", { name: "Hdr" }));
    expect(latest).toEqual({ width: 768, quality: "high", hdr: true });
  });

  it("sends only what was set, never an emptied field", () => {
    expect(paramsToSend(SCHEMA, { width: 768, seed: undefined, quality: "", other: 1 })).toEqual({
      width: 768,
    });
  });
});
