import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { ErrorBanner } from "./ErrorBanner";

function show(error: unknown) {
  render(
    <MemoryRouter initialEntries={["/studio"]}>
      <ErrorBanner error={error} />
    </MemoryRouter>,
  );
  return screen.getByRole("alert");
}

describe("ErrorBanner", () => {
  it("links a person without credits to Billing", () => {
    const alert = show(new ApiError(402, "insufficient_credits", "Not enough credits."));
    expect(alert.textContent).toContain("Not enough credits");
    expect(screen.getByRole("link", { name: "Buy credits" }).getAttribute("href")).toBe("/billing");
  });

  it("links a person over the spend cap to the cap editor", () => {
    show(new ApiError(429, "spend_cap_exceeded", "Over the cap."));
    expect(screen.getByRole("link", { name: "Raise the spend cap" }).getAttribute("href")).toBe(
      "/billing#spend-cap",
    );
  });

  it("counts down the seconds a rate limit asks to wait", () => {
    const alert = show(new ApiError(429, "rate_limited", "Slow down.", 3));
    expect(alert.textContent).toContain("Wait 3 seconds before trying again.");
    expect(screen.queryByRole("link")).toBeNull();
  });

  it("offers sign-in back to the page the person is on", () => {
    show(new ApiError(401, "not_signed_in", "Sign in."));
    expect(screen.getByRole("link", { name: "Sign in" }).getAttribute("href")).toBe(
      "/v1/auth/login?redirect_to=%2Fstudio",
    );
  });

  it("shows a screen's own words for its errors when it gives them", () => {
    render(
      <MemoryRouter>
        <ErrorBanner
          error={new ApiError(409, "workspace_not_empty", "raw")}
          advice={{
            title: "Not empty",
            message: "Move things first.",
            action: { label: "Library", to: "/library" },
          }}
        />
      </MemoryRouter>,
    );
    expect(screen.getByRole("alert").textContent).toBe("Not empty. Move things first.Library");
    expect(screen.getByRole("link", { name: "Library" }).getAttribute("href")).toBe("/library");
  });
});
