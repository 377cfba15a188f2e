import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { keys, useMe } from "../api/queries";
import { applyTheme, isTheme, rememberTheme, themeFromCookie, type Theme } from "./theme";

/** Light, dark or the system's: saved in the preferences when signed in, in a cookie before. */
export function ThemePicker({ label = "Theme" }: { label?: string }) {
  const me = useMe();
  const client = useQueryClient();
  const [theme, setTheme] = useState<Theme>(() => themeFromCookie(document.cookie));
  const saved = me.data?.preferences.theme;
  useEffect(() => {
    if (isTheme(saved)) setTheme(saved);
  }, [saved]);
  const save = useMutation({
    mutationFn: (next: Theme) => unwrap(api.PATCH("/v1/me", { body: { preferences: { theme: next } } })),
    onSuccess: (updated) => client.setQueryData(keys.me, updated),
  });

  return (
    <label className="theme-picker">
      {label}{" "}
      <select
        value={theme}
        onChange={(event) => {
          const next = event.target.value;
          if (!isTheme(next)) return;
          setTheme(next);
          applyTheme(next);
          rememberTheme(next);
          if (me.data) save.mutate(next);
        }}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
