import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../../api/client";
import { formatCredits } from "../../api/pricing";
import { keys, useBalance, useCatalog, useSubscription } from "../../api/queries";
import { ErrorBanner } from "../../components/ErrorBanner";

type Money = Schemas["MoneyBody"];
const PROVIDERS = [
  ["stripe", "Card (Stripe)"],
  ["paypal", "PayPal"],
  ["creem", "Creem"],
] as const;
type Provider = (typeof PROVIDERS)[number][0];

export function formatMoney(money: Money): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: money.currency }).format(
    money.value_minor / 100,
  );
}

export default function BillingScreen() {
  const [search] = useSearchParams();
  const outcome = search.get("checkout");
  const client = useQueryClient();
  useEffect(() => {
    document.title = "Billing · Atelier";
    if (outcome) void client.invalidateQueries({ queryKey: keys.balance });
  }, [outcome, client]);

  return (
    <div className="billing">
      <h1>Billing</h1>
      {outcome === "success" && (
        <p role="status" className="banner success">
          Payment received. Your credits are added as soon as the provider confirms it.
        </p>
      )}
      {outcome === "canceled" && (
        <p role="status" className="banner">
          Checkout canceled: nothing was charged.
        </p>
      )}
      <Balance />
      <Catalog />
      <SpendCap />
      <Subscription />
      <Ledger />
    </div>
  );
}

function Balance() {
  const balance = useBalance();
  return (
    <section aria-labelledby="balance-heading" className="panel">
      <h2 id="balance-heading">Balance</h2>
      {balance.isError && <ErrorBanner error={balance.error} />}
      {balance.data && (
        <>
          <p className="balance">
            <span className="big">{formatCredits(balance.data.credits)}</span>
          </p>
          <p className="muted">{formatCredits(balance.data.held_credits)} held for running jobs</p>
          {balance.data.restricted && (
            <p className="banner error">Your account is restricted: purchases and generation are paused.</p>
          )}
        </>
      )}
    </section>
  );
}

function Catalog() {
  const catalog = useCatalog();
  const [provider, setProvider] = useState<Provider>("stripe");
  const providerId = useId();
  const checkout = useMutation({
    mutationFn: (itemId: string) =>
      unwrap(api.POST("/v1/billing/checkout", { body: { item_id: itemId, provider } })),
    // On to the provider's checkout page; it sends the browser back here after paying.
    onSuccess: (answer) => window.location.assign(answer.url),
  });
  return (
    <section aria-labelledby="buy-heading" className="panel">
      <h2 id="buy-heading">Buy credits</h2>
      <div className="field inline">
        <label htmlFor={providerId}>Pay with</label>
        <select id={providerId} value={provider} onChange={(e) => setProvider(e.target.value as Provider)}>
          {PROVIDERS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {checkout.isError && <ErrorBanner error={checkout.error} />}
      {catalog.isError && <ErrorBanner error={catalog.error} />}
      <ul className="cards">
        {catalog.data?.packs.map((pack) => (
          <li key={pack.id}>
            <article aria-labelledby={`pack-${pack.id}`} className="card">
              <h3 id={`pack-${pack.id}`}>{pack.name}</h3>
              <p>{formatCredits(pack.credits)}</p>
              <p className="price-big">{formatMoney(pack.price)}</p>
              <button
                type="button"
                className="primary"
                disabled={checkout.isPending}
                onClick={() => checkout.mutate(pack.id)}
              >
                Buy
              </button>
            </article>
          </li>
        ))}
        {catalog.data?.plans.map((plan) => (
          <li key={plan.id}>
            <article aria-labelledby={`plan-${plan.id}`} className="card">
              <h3 id={`plan-${plan.id}`}>{plan.name} plan</h3>
              <p>
                {formatCredits(plan.credits_per_period)} every {plan.interval ?? "period"}
              </p>
              <p className="price-big">
                {formatMoney(plan.price)}
                {plan.interval ? ` / ${plan.interval}` : ""}
              </p>
              <button
                type="button"
                className="primary"
                disabled={checkout.isPending}
                onClick={() => checkout.mutate(plan.id)}
              >
                Buy
              </button>
            </article>
          </li>
        ))}
      </ul>
    </section>
  );
}

function SpendCap() {
  const balance = useBalance();
  const client = useQueryClient();
  const inputId = useId();
  const current = balance.data?.spend_cap.monthly_credits ?? null;
  const [value, setValue] = useState("");
  useEffect(() => setValue(current === null ? "" : String(current)), [current]);
  const save = useMutation({
    mutationFn: (monthly: number | null) =>
      unwrap(api.PUT("/v1/billing/spend-cap", { body: { monthly_credits: monthly } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.balance }),
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate(value === "" ? null : Math.max(0, Math.trunc(Number(value))));
  }
  return (
    <section aria-labelledby="spend-cap" className="panel">
      <h2 id="spend-cap" tabIndex={-1}>
        Spend cap
      </h2>
      {balance.data && (
        <p className="muted">
          Spent this month: {formatCredits(balance.data.spend_cap.spent_this_month)}
          {current !== null ? ` of ${formatCredits(current)}` : " (no cap)"}
        </p>
      )}
      <form onSubmit={submit} className="inline-form">
        <label htmlFor={inputId}>Monthly spend cap (credits)</label>
        <input
          id={inputId}
          type="number"
          min={0}
          max={10_000_000}
          step={1}
          inputMode="numeric"
          value={value}
          placeholder="No cap"
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" disabled={save.isPending}>
          Save cap
        </button>
        {current !== null && (
          <button type="button" onClick={() => save.mutate(null)} disabled={save.isPending}>
            Remove cap
          </button>
        )}
      </form>
      {save.isSuccess && <p role="status">Spend cap saved.</p>}
      {save.isError && <ErrorBanner error={save.error} />}
    </section>
  );
}

function Subscription() {
  const subscription = useSubscription();
  return (
    <section aria-labelledby="subscription-heading" className="panel">
      <h2 id="subscription-heading">Subscription</h2>
      {subscription.isError && <ErrorBanner error={subscription.error} />}
      {subscription.data === null && <p>No subscription.</p>}
      {subscription.data && (
        <p>
          Plan {subscription.data.plan_id}: <strong>{subscription.data.status}</strong>
          {subscription.data.current_period_end &&
            `, renews ${new Date(subscription.data.current_period_end).toLocaleDateString()}`}{" "}
          (through {subscription.data.provider})
        </p>
      )}
    </section>
  );
}

function Ledger() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const ledger = useQuery({
    queryKey: [...keys.ledger, cursor],
    queryFn: () =>
      unwrap(
        api.GET("/v1/billing/ledger", { params: { query: cursor ? { limit: 20, cursor } : { limit: 20 } } }),
      ),
  });
  return (
    <section aria-labelledby="ledger-heading" className="panel">
      <h2 id="ledger-heading">History</h2>
      {ledger.isError && <ErrorBanner error={ledger.error} />}
      {ledger.data && ledger.data.items.length === 0 && <p>No entries yet.</p>}
      {ledger.data && ledger.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Credit history, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Entry</th>
                <th scope="col">Credits</th>
                <th scope="col">Amount</th>
              </tr>
            </thead>
            <tbody>
              {ledger.data.items.map((entry) => (
                <tr key={entry.id}>
                  <td>{new Date(entry.at).toLocaleString()}</td>
                  <td>
                    {entry.kind.replace(/_/g, " ")}
                    {entry.generation_kind ? ` (${entry.generation_kind})` : ""}
                  </td>
                  <td>{entry.credits > 0 ? `+${entry.credits}` : entry.credits}</td>
                  <td>{entry.amount ? formatMoney(entry.amount) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        <button
          type="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={!ledger.data?.next_cursor}
          onClick={() => {
            const next = ledger.data?.next_cursor;
            if (next) setCursors((c) => [...c, next]);
          }}
        >
          Older
        </button>
      </div>
    </section>
  );
}
