import { useId, useState } from "react";
import { compareVersions, type WorkflowVersion } from "../../api/workflows";

const MARKS = { Same: "", Changed: "≠", Added: "+", Removed: "−" } as const;

/**
 * Two versions' settings side by side. Each differing row says how it differs in words (and a
 * sign and a border), so the difference never rests on colour alone.
 */
export function CompareVersions({ versions }: { versions: WorkflowVersion[] }) {
  const prefix = useId();
  const [leftNumber, setLeftNumber] = useState(versions[Math.max(0, versions.length - 2)]?.version ?? 1);
  const [rightNumber, setRightNumber] = useState(versions[versions.length - 1]?.version ?? 1);
  const left = versions.find((item) => item.version === leftNumber);
  const right = versions.find((item) => item.version === rightNumber);
  const rows = left && right ? compareVersions(left, right) : [];
  const differences = rows.filter((row) => row.change !== "Same").length;

  const picker = (id: string, label: string, value: number, set: (value: number) => void) => (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set(Number(e.target.value))}>
        {versions.map((item) => (
          <option key={item.id} value={item.version}>
            Version {item.version}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <section aria-labelledby={`${prefix}-heading`} className="compare">
      <h2 id={`${prefix}-heading`}>Compare versions</h2>
      <div className="inline-form">
        {picker(`${prefix}-left`, "Left version", leftNumber, setLeftNumber)}
        {picker(`${prefix}-right`, "Right version", rightNumber, setRightNumber)}
      </div>
      <p role="status">
        {differences === 0
          ? "These versions have the same settings."
          : `${differences} ${differences === 1 ? "setting differs" : "settings differ"}.`}
      </p>
      <div className="table-wrap">
        <table className="compare-table">
          <caption className="visually-hidden">
            Version {leftNumber} and version {rightNumber} side by side
          </caption>
          <thead>
            <tr>
              <th scope="col">Setting</th>
              <th scope="col">Version {leftNumber}</th>
              <th scope="col">Version {rightNumber}</th>
              <th scope="col">Difference</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.setting} className={row.change === "Same" ? undefined : "differs"}>
                <th scope="row">{row.setting}</th>
                <td>{row.left || <span className="muted">(none)</span>}</td>
                <td>{row.right || <span className="muted">(none)</span>}</td>
                <td>
                  {MARKS[row.change] && <span aria-hidden="true">{MARKS[row.change]} </span>}
                  {row.change}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
