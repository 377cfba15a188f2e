import type { Schemas } from "../../api/client";

/** A version's settings as a read-only list. */
export function DefinitionView({ definition }: { definition: Schemas["DefinitionResponse"] }) {
  const params = Object.entries(definition.params);
  return (
    <dl className="definition">
      <div>
        <dt>Kind</dt>
        <dd>{definition.kind}</dd>
      </div>
      <div>
        <dt>Model</dt>
        <dd>{definition.model}</dd>
      </div>
      <div>
        <dt>Prompt template</dt>
        <dd className="template">{definition.prompt_template}</dd>
      </div>
      {params.map(([name, value]) => (
        <div key={name}>
          <dt>Parameter {name}</dt>
          <dd>{String(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The address of a workflow's own page, which anyone can open once it is public. */
export function workflowPageUrl(id: string): string {
  return new URL(`/workflows/${encodeURIComponent(id)}`, window.location.origin).toString();
}
