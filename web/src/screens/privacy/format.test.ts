import { describe, expect, it } from "vitest";
import { remaining, size } from "./format";

describe("the countdown's wording", () => {
  it("gives the two largest units that are left", () => {
    expect(remaining(72 * 3600 * 1000)).toBe("3 days");
    expect(remaining((71 * 3600 + 59 * 60 + 30) * 1000)).toBe("2 days 23 hours");
    expect(remaining(61_000)).toBe("1 minute 1 second");
    expect(remaining(500)).toBe("1 second");
    expect(remaining(-5)).toBe("0 seconds");
  });
  it("gives sizes in readable units", () => {
    expect(size(900)).toBe("900 bytes");
    expect(size(2048)).toBe("2.0 KB");
    expect(size(5 * 1024 * 1024)).toBe("5.0 MB");
  });
});
