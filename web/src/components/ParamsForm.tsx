import { useId } from "react";
import type { ParamValues } from "../api/pricing";

export interface ParamSpec {
  type?: string;
  minimum?: number;
  maximum?: number;
  choices?: unknown[];
  default?: unknown;
  description?: string;
}

export function labelFor(name: string): string {
  const words = name.replace(/_s$/, " (seconds)").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A form for a model's parameters, generated from the parameter schema the API lists. */
export function ParamsForm({
  params,
  values,
  onChange,
}: {
  params: Record<string, ParamSpec>;
  values: ParamValues;
  onChange: (values: ParamValues) => void;
}) {
  const prefix = useId();
  const entries = Object.entries(params);
  if (entries.length === 0) return null;
  const set = (name: string, value: unknown) => onChange({ ...values, [name]: value });

  return (
    <fieldset className="params">
      <legend>Parameters</legend>
      {entries.map(([name, spec]) => {
        const id = `${prefix}-${name}`;
        const hintId = spec.description ? `${id}-hint` : undefined;
        const current = values[name] ?? spec.default ?? "";
        let control;
        if (spec.choices && spec.choices.length > 0) {
          control = (
            <select
              id={id}
              value={String(current)}
              aria-describedby={hintId}
              onChange={(e) => {
                const chosen = spec.choices?.find((choice) => String(choice) === e.target.value);
                set(name, chosen);
              }}
            >
              {spec.choices.map((choice) => (
                <option key={String(choice)} value={String(choice)}>
                  {String(choice)}
                </option>
              ))}
            </select>
          );
        } else if (spec.type === "boolean") {
          control = (
            <input
              id={id}
              type="checkbox"
              checked={Boolean(current)}
              aria-describedby={hintId}
              onChange={(e) => set(name, e.target.checked)}
            />
          );
        } else if (spec.type === "integer" || spec.type === "number") {
          control = (
            <input
              id={id}
              type="number"
              inputMode={spec.type === "integer" ? "numeric" : "decimal"}
              min={spec.minimum}
              max={spec.maximum}
              step={spec.type === "integer" ? 1 : "any"}
              value={current === undefined || current === null ? "" : String(current)}
              placeholder={spec.default === undefined ? "Any" : undefined}
              aria-describedby={hintId}
              onChange={(e) => {
                const raw = e.target.value;
                if (raw === "") set(name, undefined);
                else set(name, spec.type === "integer" ? Math.trunc(Number(raw)) : Number(raw));
              }}
            />
          );
        } else {
          control = (
            <input
              id={id}
              type="text"
              value={String(current)}
              aria-describedby={hintId}
              onChange={(e) => set(name, e.target.value)}
            />
          );
        }
        return (
          <div key={name} className={spec.type === "boolean" ? "check" : "field"}>
            <label htmlFor={id}>{labelFor(name)}</label>
            {control}
            {spec.description && (
              <small id={hintId} className="muted">
                {spec.description}
              </small>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}

/** The values worth sending: those the person set, of the right type, within the schema. */
export function paramsToSend(params: Record<string, ParamSpec>, values: ParamValues): ParamValues {
  const sent: ParamValues = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === "" || Number.isNaN(value) || !(name in params)) continue;
    sent[name] = value;
  }
  return sent;
}
