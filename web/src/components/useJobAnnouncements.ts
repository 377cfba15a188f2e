import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import type { Job } from "../api/client";
import { isFinal, keys } from "../api/queries";
import { STATUS_WORDS } from "./JobRow";

/**
 * What a screen listing jobs says aloud when one changes status ("Succeeded: a lighthouse"), for a
 * polite live region; a job that finishes refreshes what it changed (the balance, the library).
 */
export function useJobAnnouncements(jobs: Job[]): string {
  const client = useQueryClient();
  const [announcement, setAnnouncement] = useState("");
  const seen = useRef(new Map<string, Job["status"]>());

  useEffect(() => {
    const changes: string[] = [];
    let finished = false;
    for (const job of jobs) {
      const before = seen.current.get(job.id);
      if (before !== undefined && before !== job.status) {
        changes.push(`${STATUS_WORDS[job.status]}: ${job.prompt}`);
        if (isFinal(job)) finished = true;
      }
      seen.current.set(job.id, job.status);
    }
    if (changes.length) setAnnouncement(changes.join(". "));
    if (finished) {
      void client.invalidateQueries({ queryKey: keys.balance });
      void client.invalidateQueries({ queryKey: ["assets"] });
    }
  }, [jobs, client]);

  return announcement;
}
