import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen } from "@testing-library/react";
import type { Middleware } from "openapi-fetch";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it } from "vitest";
import { api } from "../../api/client";
import { ReportReview } from "./ReportReview";

const REPORT = {
  id: "rpt_1",
  target_type: "asset",
  target_id: "ast_1",
  reason: "violence",
  status: "open",
  created_at: "2026-12-01T10:00:00.000Z",
  owner_id: "acct_owner",
  reporter_id: "acct_reporter",
  details: null,
  action: null,
  moderator_id: null,
  note: null,
  resolved_at: null,
};
const DETAIL = {
  report: REPORT,
  item: {
    target_type: "asset",
    target_id: "ast_1",
    owner_id: "acct_owner",
    state: "live",
    visibility: "public",
    kind: "image",
    content_type: "image/png",
    name: null,
    media_url: "https://media.example/ast_1.png",
    preview_url: null,
  },
  owner: { id: "acct_owner", status: "active" },
  history: [REPORT],
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** Answers the studio's requests as the API would, recording the unsafe ones. */
function fakeApi(resolveAnswer: Response) {
  const sent: string[] = [];
  const middleware: Middleware = {
    onRequest({ request }) {
      if (request.method === "GET") return json(200, DETAIL);
      sent.push(`${request.method} ${new URL(request.url).pathname}`);
      return resolveAnswer;
    },
  };
  api.use(middleware);
  return { sent, eject: () => api.eject(middleware) };
}

let eject = () => {};
afterEach(() => eject());

function renderReview() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/admin/reports/rpt_1"]}>
        <Routes>
          <Route path="/admin/reports/:reportId" element={<ReportReview />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("resolving a report", () => {
  it("asks for a note before sending anything", async () => {
    // Given a report under review
    const fake = fakeApi(json(200, REPORT));
    eject = fake.eject;
    renderReview();
    // When the moderator resolves it with a blank note
    fireEvent.click(await screen.findByRole("radio", { name: "Remove" }));
    fireEvent.change(screen.getByRole("textbox", { name: "Note" }), { target: { value: "   " } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve report" }));
    // Then the form says what is missing, and no request is made
    expect(await screen.findByText("Write a note before resolving the report.")).toBeTruthy();
    expect(screen.getByRole("textbox", { name: "Note" }).getAttribute("aria-invalid")).toBe("true");
    expect(fake.sent).toEqual([]);
  });

  it("shows the API's refusal in plain words, naming the field", async () => {
    // Given an API that refuses the note
    const refusal = json(422, {
      error: {
        code: "invalid_field",
        message: "A field is missing or invalid.",
        details: [{ field: "note" }],
      },
    });
    const fake = fakeApi(refusal);
    eject = fake.eject;
    renderReview();
    // When the moderator resolves the report with a note
    fireEvent.click(await screen.findByRole("radio", { name: "Remove" }));
    fireEvent.change(screen.getByRole("textbox", { name: "Note" }), { target: { value: "graphic" } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve report" }));
    // Then the refusal is shown, with what to fix
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("The report was not resolved.");
    expect(alert.textContent).toContain("Check the form: A field is missing or invalid (note).");
    expect(fake.sent).toEqual(["POST /v1/admin/reports/rpt_1/resolve"]);
  });
});
