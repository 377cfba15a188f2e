import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Me } from "../api/client";
import { keys } from "../api/queries";
import { ReportButton } from "./ReportButton";

// The typed client keeps the fetch it was made with: replaced before any module loads.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn<(request: Request) => Promise<Response>>();
  globalThis.fetch = mock as unknown as typeof fetch;
  return mock;
});

const ME = { id: "acct_1", email: "ada@example.com", name: "Ada" } as Me;

function answer(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function renderButton(me: Me | null) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  client.setQueryData(keys.me, me);
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/s/token123"]}>
        <ReportButton targetType="asset" targetId="token123" />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  fireEvent.click(screen.getByRole("button", { name: "Report" }));
}

describe("ReportButton", () => {
  beforeEach(() => fetchMock.mockReset());

  it("sends the chosen reason and the note, trimmed, then confirms", async () => {
    fetchMock.mockResolvedValue(
      answer(201, { id: "rpt_1", target_type: "asset", target_id: "ast_1", reason: "hate", status: "open" }),
    );
    renderButton(ME);
    expect(screen.getByRole("button", { name: "Send report" })).toHaveProperty("disabled", true);
    fireEvent.click(screen.getByRole("radio", { name: "Hate or harassment" }));
    fireEvent.change(screen.getByRole("textbox", { name: "Note (optional)" }), {
      target: { value: "  slurs  " },
    });
    fireEvent.click(screen.getByRole("button", { name: "Send report" }));

    await screen.findByText("Report sent.");
    const request = fetchMock.mock.calls[0]?.[0] as Request;
    expect(new URL(request.url).pathname).toBe("/v1/reports");
    expect(await request.json()).toEqual({
      target_type: "asset",
      target_id: "token123",
      reason: "hate",
      details: "slurs",
    });
    expect(screen.getByRole("link", { name: "your reports" }).getAttribute("href")).toBe(
      "/settings#my-reports",
    );
  });

  it("leaves an empty note out", async () => {
    fetchMock.mockResolvedValue(answer(201, {}));
    renderButton(ME);
    fireEvent.click(screen.getByRole("radio", { name: "Spam or scam" }));
    fireEvent.change(screen.getByRole("textbox", { name: "Note (optional)" }), { target: { value: "   " } });
    fireEvent.click(screen.getByRole("button", { name: "Send report" }));
    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    expect(await (fetchMock.mock.calls[0]?.[0] as Request).json()).not.toHaveProperty("details");
  });

  it("explains a second report of the same item in plain words", async () => {
    fetchMock.mockResolvedValue(
      answer(409, { error: { code: "report_exists", message: "You have already reported this." } }),
    );
    renderButton(ME);
    fireEvent.click(screen.getByRole("radio", { name: "Spam or scam" }));
    fireEvent.click(screen.getByRole("button", { name: "Send report" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Already reported");
  });

  it("asks a signed-out visitor to sign in, and brings them back", () => {
    renderButton(null);
    expect(screen.getByRole("link", { name: "Sign in to report" }).getAttribute("href")).toBe(
      "/v1/auth/login?redirect_to=%2Fs%2Ftoken123",
    );
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
