import type { Model } from "./client";

export type ParamValues = Record<string, unknown>;

/** The parameters with the model's defaults filled in, as the server resolves them. */
export function resolvedParams(model: Model, values: ParamValues): ParamValues {
  const resolved: ParamValues = {};
  for (const [name, spec] of Object.entries(model.params)) {
    if (spec.default !== undefined && spec.default !== null) resolved[name] = spec.default;
  }
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== "" && name in model.params) resolved[name] = value;
  }
  return resolved;
}

/**
 * The server's rule (atelier.models.generation.PriceRule.credits):
 * base + per_megapixel * ceil(width * height / 1e6) + per_second * ceil(duration_s), at least 1.
 */
export function priceCredits(model: Model, values: ParamValues): number {
  const rule = model.price_credits;
  const params = resolvedParams(model, values);
  let cost = rule.base ?? 0;
  const perMegapixel = rule.per_megapixel ?? 0;
  const perSecond = rule.per_second ?? 0;
  if (perMegapixel && params.width !== undefined && params.height !== undefined) {
    const pixels = Math.trunc(Number(params.width)) * Math.trunc(Number(params.height));
    cost += perMegapixel * Math.ceil(pixels / 1_000_000);
  }
  if (perSecond && params.duration_s !== undefined) {
    cost += perSecond * Math.ceil(Number(params.duration_s));
  }
  return Math.max(cost, 1);
}

export function formatCredits(credits: number): string {
  return `${credits.toLocaleString("en-US")} ${Math.abs(credits) === 1 ? "credit" : "credits"}`;
}
