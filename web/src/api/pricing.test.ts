import { describe, expect, it } from "vitest";
import type { Model } from "./client";
import { formatCredits, priceCredits } from "./pricing";

function model(price: Record<string, number>, params: Model["params"] = {}): Model {
  return {
    id: "m",
    kind: "image",
    provider: "local",
    name: "M",
    price_credits: price,
    params,
    max_reference_images: 0,
  };
}

const dimension = (fallback: number) => ({ type: "integer", minimum: 64, maximum: 2048, default: fallback });

describe("priceCredits follows the server's rule", () => {
  it("charges base plus per megapixel, rounding the megapixels up", () => {
    // Given a 1 + 1/MP model, When priced at its 512x512 default, Then one megapixel is charged
    const image = model({ base: 1, per_megapixel: 1 }, { width: dimension(512), height: dimension(512) });
    expect(priceCredits(image, {})).toBe(2);
    // When the person asks for 1024x1536 (1.57 MP), Then two megapixels are charged
    expect(priceCredits(image, { width: 1024, height: 1536 })).toBe(3);
  });

  it("charges per second, rounding the seconds up, with the default duration when none is given", () => {
    const video = model({ base: 2, per_second: 2 }, { duration_s: { type: "number", default: 2 } });
    expect(priceCredits(video, {})).toBe(6);
    expect(priceCredits(video, { duration_s: 2.5 })).toBe(8);
  });

  it("never prices below one credit", () => {
    expect(priceCredits(model({ base: 0 }), {})).toBe(1);
  });

  it("ignores values for parameters the model does not have", () => {
    expect(priceCredits(model({ base: 8, per_second: 5 }), { duration_s: 10 })).toBe(8);
  });
});

describe("formatCredits", () => {
  it("says credits, singular for one", () => {
    expect(formatCredits(1)).toBe("1 credit");
    expect(formatCredits(1200)).toBe("1,200 credits");
  });
});
