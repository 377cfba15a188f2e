import { useId, useState, type FormEvent } from "react";
import { usePublishPolicy, type PolicyKind } from "../../api/admin";
import { problem, when } from "./words";

/** The notice a material change needs (the privacy policy's promise; the API enforces it too). */
const NOTICE_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A `datetime-local` value (the browser's local time) for a moment. */
function localInputValue(moment: Date): string {
  const shifted = new Date(moment.getTime() - moment.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** Publishing a new version of the terms or the privacy policy, with the notice rule explained. */
export function PublishPolicy() {
  const [kind, setKind] = useState<PolicyKind>("privacy");
  const [version, setVersion] = useState("");
  const [summary, setSummary] = useState("");
  const [material, setMaterial] = useState(true);
  const [effective, setEffective] = useState(() =>
    localInputValue(new Date(Date.now() + (NOTICE_DAYS + 1) * DAY_MS)),
  );
  const [problems, setProblems] = useState<Record<string, string>>({});
  const publish = usePublishPolicy();
  const ids = { kind: useId(), version: useId(), summary: useId(), effective: useId(), rule: useId() };

  function check(): Record<string, string> {
    const found: Record<string, string> = {};
    if (!/^[0-9A-Za-z._-]{1,40}$/.test(version.trim())) {
      found.version = "Give a version name of up to 40 letters, digits, dots, dashes or underscores.";
    }
    if (!summary.trim()) found.summary = "Summarise what changes; account holders are emailed this summary.";
    const at = new Date(effective);
    if (!effective || Number.isNaN(at.getTime())) found.effective = "Choose when the version takes effect.";
    else if (at.getTime() <= Date.now()) found.effective = "A new version takes effect in the future.";
    else if (material && at.getTime() < Date.now() + NOTICE_DAYS * DAY_MS) {
      found.effective = `A material change takes effect at least ${NOTICE_DAYS} days after it is published: choose ${when(
        new Date(Date.now() + NOTICE_DAYS * DAY_MS).toISOString(),
      )} or later.`;
    }
    return found;
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = check();
    setProblems(found);
    const first = (["version", "summary", "effective"] as const).find((name) => found[name]);
    if (first) {
      document.getElementById(ids[first])?.focus();
      return;
    }
    publish.mutate({
      kind,
      version: version.trim(),
      summary: summary.trim(),
      material,
      effective_at: new Date(effective).toISOString(),
    });
  }

  const described = (name: "version" | "summary" | "effective", help?: string) =>
    [problems[name] ? `${ids[name]}-error` : null, help].filter(Boolean).join(" ") || undefined;

  return (
    <section aria-labelledby="policy-heading">
      <h1 id="policy-heading">Publish a policy version</h1>
      <div className="panel" id={ids.rule}>
        <h2>The notice rule</h2>
        <p>
          A <strong>material change</strong> (one that changes what people agreed to: what data is collected,
          how it is used or shared, their rights, prices or obligations) must take effect at least{" "}
          <strong>{NOTICE_DAYS} days after it is published</strong>, so everyone can read it before it
          applies.
        </p>
        <p>
          Every account holder is emailed about the new version when it is published, and the current version
          stays in force until the effective date. A non-material change (wording, typos, contact details)
          only needs a date in the future.
        </p>
      </div>
      {publish.isSuccess ? (
        <div role="status" className="banner success">
          <p>
            Published {publish.data.kind === "terms" ? "terms" : "privacy policy"} version{" "}
            {publish.data.version}, in effect from {when(publish.data.effective_at)}. Every account holder is
            being emailed.
          </p>
          <button type="button" onClick={() => publish.reset()}>
            Publish another version
          </button>
        </div>
      ) : (
        <form onSubmit={submit} noValidate className="panel">
          <div className="field">
            <label htmlFor={ids.kind}>Policy</label>
            <select
              id={ids.kind}
              value={kind}
              onChange={(event) => setKind(event.target.value as PolicyKind)}
            >
              <option value="privacy">Privacy policy</option>
              <option value="terms">Terms of service</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.version}>Version</label>
            <input
              id={ids.version}
              value={version}
              onChange={(event) => setVersion(event.target.value)}
              maxLength={40}
              required
              aria-invalid={Boolean(problems.version) || undefined}
              aria-describedby={described("version")}
            />
            {problems.version && (
              <span id={`${ids.version}-error`} className="error-text">
                {problems.version}
              </span>
            )}
          </div>
          <div className="field">
            <label htmlFor={ids.summary}>Summary of the changes</label>
            <textarea
              id={ids.summary}
              value={summary}
              onChange={(event) => setSummary(event.target.value)}
              rows={4}
              maxLength={2000}
              required
              aria-invalid={Boolean(problems.summary) || undefined}
              aria-describedby={described("summary")}
            />
            {problems.summary && (
              <span id={`${ids.summary}-error`} className="error-text">
                {problems.summary}
              </span>
            )}
          </div>
          <div className="check">
            <input
              id={`${ids.kind}-material`}
              type="checkbox"
              checked={material}
              onChange={(event) => setMaterial(event.target.checked)}
              aria-describedby={ids.rule}
            />
            <label htmlFor={`${ids.kind}-material`}>Material change (needs {NOTICE_DAYS} days' notice)</label>
          </div>
          <div className="field">
            <label htmlFor={ids.effective}>Takes effect at</label>
            <input
              id={ids.effective}
              type="datetime-local"
              value={effective}
              onChange={(event) => setEffective(event.target.value)}
              required
              aria-invalid={Boolean(problems.effective) || undefined}
              aria-describedby={described("effective", `${ids.effective}-help`)}
            />
            <span id={`${ids.effective}-help`} className="muted">
              Your local time.{" "}
              {material
                ? `At least ${NOTICE_DAYS} days from now for a material change.`
                : "Any time in the future for a non-material change."}
            </span>
            {problems.effective && (
              <span id={`${ids.effective}-error`} className="error-text">
                {problems.effective}
              </span>
            )}
          </div>
          {publish.isError && (
            <div role="alert" className="banner error">
              <p>
                <strong>The version was not published.</strong> {problem(publish.error)}
              </p>
            </div>
          )}
          <button type="submit" className="primary" disabled={publish.isPending}>
            {publish.isPending ? "Publishing…" : "Publish version"}
          </button>
        </form>
      )}
    </section>
  );
}
