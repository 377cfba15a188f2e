import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { PriceTag } from "./PriceTag";

describe("PriceTag", () => {
  it("shows the estimate as <n> credits", () => {
    render(<PriceTag estimate={6} />);
    expect(screen.getByRole("status").textContent).toBe("6 credits");
  });

  it("shows the server's figure once it is known", () => {
    render(<PriceTag estimate={6} confirmed={8} />);
    expect(screen.getByRole("status").textContent).toBe("8 credits");
  });
});
